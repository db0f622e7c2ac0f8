import { crmNote, crmOwnerIdOf, dueIn } from "../domain/crm-note.ts";
import type { LeadStateValues as LeadState } from "../domain/snapshot.ts";
import { requireLead } from "../domain/snapshot.ts";
import type { CrmSync } from "../domain/types.ts";
import type { ContactInput } from "../tools/ports.ts";
import type { GraphDeps, LeadNode } from "./deps.ts";
import { writeOnce } from "./effects.ts";
import { linkContactInMessage } from "./notify-owner.ts";

type CrmDeps = Pick<GraphDeps, "crm" | "ledger">;

/**
 * Every CRM write goes through the ledger so a resumed lead never writes twice. Contacts are upserted by
 * email and owner/status are PATCHes, so repeating them is harmless; notes and tasks carry their ledger key
 * and are looked up by it before being created again (`writeOnce`).
 */
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

/** What the owner step did; a bare string is what earlier versions stored for `set`. */
type OwnerStep = { set: string } | { kept: string } | string;

/**
 * The CRM owner rule: a contact that already has an owner keeps it (the relationship lives in the CRM, and
 * RevOps may have set it by hand); the routed owner is written only on a contact without one. Three forms
 * from one person therefore never move the contact between owners. Read just before the write, inside the
 * ledger step, so a retry neither reads nor writes again.
 */
async function ownContact(deps: CrmDeps, state: LeadState, contactId: string, crmOwnerId: string) {
  const email = requireLead(state, "crm").email;
  const step = await deps.ledger.once<OwnerStep>(`${state.leadId}:crm:owner`, async () => {
    const existing = (await deps.crm.findContactByEmail(email))?.ownerId;
    if (existing) return { kept: existing };
    await deps.crm.setOwner(contactId, crmOwnerId);
    return { set: crmOwnerId };
  });
  return typeof step === "string" ? { set: step } : step;
}

/**
 * After a hand-off (owner loop round > 0) the CRM owner follows the lead to its new holder, unless the
 * contact had an owner of its own before LeadGraph (then it is kept, as on the first route).
 */
async function moveContact(
  deps: CrmDeps,
  state: LeadState,
  contactId: string,
  crmOwnerId: string,
  round: number,
) {
  return deps.ledger.once<{ set: string } | { kept: string }>(
    `${state.leadId}:crm:owner:${round}`,
    async () => {
      if (state.crm.ownerKept) return { kept: state.crm.ownerKept };
      await deps.crm.setOwner(contactId, crmOwnerId);
      return { set: crmOwnerId };
    },
  );
}

/** Contact upserted by email, owner set (unless it has one), note with the reasons and summary, task for the owner. */
export function createSyncCrmNode(
  deps: Pick<GraphDeps, "crm" | "ledger" | "routing" | "clock"> &
    Partial<Pick<GraphDeps, "notifier" | "publicUrl">>,
): LeadNode {
  return async (state) => {
    const contactId = await ensureContact(deps, state);
    // The owner's message went out before the contact existed: it gains the contact's CRM link now.
    const notifier = deps.notifier;
    if (notifier) await linkContactInMessage({ ...deps, notifier }, state, contactId);
    const crm: CrmSync = { contactId };
    const crmOwnerId = crmOwnerIdOf(state, deps.routing());
    let note = crmNote(state);
    const round = state.ownership?.round ?? 0;
    if (crmOwnerId) {
      const step =
        round === 0
          ? await ownContact(deps, state, contactId, crmOwnerId)
          : await moveContact(deps, state, contactId, crmOwnerId, round);
      if ("set" in step) crm.ownerSet = step.set;
      else {
        crm.ownerKept = step.kept;
        if (step.kept !== crmOwnerId)
          note += `\nCRM owner ${step.kept} kept: the contact already had an owner; this lead's task goes to ${crmOwnerId}`;
      }
    }
    const noteKey = `${state.leadId}:crm:note`;
    const { noteId } = await writeOnce(deps.ledger, noteKey, {
      find: () => deps.crm.findNote(contactId, noteKey),
      create: () => deps.crm.addNote(contactId, note, noteKey),
    });
    crm.noteId = noteId;
    // Nurture leads already got their follow-up task from nurtureLead; only AE-facing paths get an owner task.
    if (state.path !== "nurture" && crmOwnerId) {
      const taskKey = `${state.leadId}:crm:task`;
      const { taskId } = await writeOnce(deps.ledger, taskKey, {
        find: () => deps.crm.findTask(contactId, taskKey),
        create: () =>
          deps.crm.createTask(contactId, {
            subject: `Follow up: new ${state.score?.tier ?? ""} lead`.replace("  ", " "),
            body: state.summary?.bullets.join("\n") ?? crmNote(state),
            dueAt: dueIn(deps.clock, 1),
            ownerId: crmOwnerId,
            effectKey: taskKey,
          }),
      });
      crm.taskId = taskId;
    }
    return { crm };
  };
}
