import type { GraphDeps, LeadNode } from "../graph/deps.ts";
import type { CrmSync, LeadState } from "../graph/state.ts";
import type { ContactInput } from "../tools/ports.ts";
import { requireLead } from "./require.ts";

type CrmDeps = Pick<GraphDeps, "crm" | "ledger">;

/** Every CRM write goes through the ledger so a resumed lead never writes twice. */
export async function ensureContact(deps: CrmDeps, state: LeadState): Promise<string> {
  const lead = requireLead(state, "crm");
  const contact: ContactInput = {
    email: lead.email,
    leadId: state.leadId,
    ...(lead.firstName ? { firstName: lead.firstName } : {}),
    ...(lead.lastName ? { lastName: lead.lastName } : {}),
    ...(lead.company ? { company: lead.company } : {}),
    ...(lead.title ? { title: lead.title } : {}),
    ...(lead.phone ? { phone: lead.phone } : {}),
    ...(lead.country ? { country: lead.country } : {}),
    ...(lead.state ? { state: lead.state } : {}),
    ...(lead.companyDomain ? { website: lead.companyDomain } : {}),
  };
  const { contactId } = await deps.ledger.once(`${state.leadId}:crm:contact`, () =>
    deps.crm.upsertContact(contact),
  );
  return contactId;
}

export function crmOwnerIdOf(state: LeadState, deps: Pick<GraphDeps, "routing">): string | undefined {
  const ownerId = state.route?.ownerId;
  return ownerId ? deps.routing().owners.find((o) => o.id === ownerId)?.crmOwnerId : undefined;
}

/** The note filed on the contact: why it scored and routed as it did. */
export function crmNote(state: LeadState): string {
  const lines = [`LeadGraph lead ${state.leadId}`];
  if (state.score) {
    lines.push(`Score ${state.score.value} (${state.score.tier}), rule score ${state.score.ruleScore}`);
    for (const r of state.score.reasons) lines.push(`- ${r.text} [${r.field}=${String(r.value)}]`);
    if (state.score.llm)
      lines.push(`LLM adjustment ${state.score.llm.adjustment}: ${state.score.llm.reasons.join("; ")}`);
  }
  if (state.route)
    lines.push(
      `Route: ${state.route.ruleName} (${state.path ?? "?"})`,
      ...state.route.explanation.map((l) => `  ${l}`),
    );
  if (state.summary) lines.push("Summary:", ...state.summary.bullets.map((b) => `- ${b}`));
  return lines.join("\n");
}

const DAY_MS = 86_400_000;

/** ISO timestamp `days` after now, for task due dates. */
export function dueIn(clock: () => Date, days: number): string {
  return new Date(clock().getTime() + days * DAY_MS).toISOString();
}

/** Contact upserted by email, owner set, note with the reasons and summary, and a task for the owner. */
export function createSyncCrmNode(deps: Pick<GraphDeps, "crm" | "ledger" | "routing" | "clock">): LeadNode {
  return async (state) => {
    const contactId = await ensureContact(deps, state);
    const crm: CrmSync = { contactId };
    const crmOwnerId = crmOwnerIdOf(state, deps);
    if (crmOwnerId) {
      await deps.ledger.once(`${state.leadId}:crm:owner`, async () => {
        await deps.crm.setOwner(contactId, crmOwnerId);
        return crmOwnerId;
      });
      crm.ownerSet = crmOwnerId;
    }
    const { noteId } = await deps.ledger.once(`${state.leadId}:crm:note`, () =>
      deps.crm.addNote(contactId, crmNote(state)),
    );
    crm.noteId = noteId;
    // Nurture leads already got their follow-up task from nurtureLead; only AE-facing paths get an owner task.
    if (state.path !== "nurture" && crmOwnerId) {
      const { taskId } = await deps.ledger.once(`${state.leadId}:crm:task`, () =>
        deps.crm.createTask(contactId, {
          subject: `Follow up: new ${state.score?.tier ?? ""} lead`.replace("  ", " "),
          body: state.summary?.bullets.join("\n") ?? crmNote(state),
          dueAt: dueIn(deps.clock, 1),
          ownerId: crmOwnerId,
        }),
      );
      crm.taskId = taskId;
    }
    return { crm };
  };
}
