import { crmNote, crmOwnerIdOf, dueIn } from "../domain/crm-note.ts";
import type { LeadStateValues as LeadState } from "../domain/snapshot.ts";
import { requireLead } from "../domain/snapshot.ts";
import type { CrmSync } from "../domain/types.ts";
import type { ContactInput } from "../tools/ports.ts";
import type { GraphDeps, LeadNode } from "./deps.ts";

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

/** Contact upserted by email, owner set, note with the reasons and summary, and a task for the owner. */
export function createSyncCrmNode(deps: Pick<GraphDeps, "crm" | "ledger" | "routing" | "clock">): LeadNode {
  return async (state) => {
    const contactId = await ensureContact(deps, state);
    const crm: CrmSync = { contactId };
    const crmOwnerId = crmOwnerIdOf(state, deps.routing());
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
