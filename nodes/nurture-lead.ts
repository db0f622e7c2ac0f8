import { crmNote, crmOwnerIdOf, dueIn } from "../domain/crm-note.ts";
import type { GraphDeps, LeadNode } from "./deps.ts";
import { writeOnce } from "./effects.ts";
import { ensureContact } from "./sync-crm.ts";

export const NURTURE_STATUS = "NURTURE";

/** Low scores go to marketing: a nurture status and a follow-up task in N days; no AE is pinged. */
export function createNurtureLeadNode(
  deps: Pick<GraphDeps, "crm" | "ledger" | "routing" | "scoring" | "clock">,
): LeadNode {
  return async (state) => {
    const contactId = await ensureContact(deps, state);
    await deps.ledger.once(`${state.leadId}:crm:nurture-status`, async () => {
      await deps.crm.setNurtureStatus(contactId, NURTURE_STATUS);
      return NURTURE_STATUS;
    });
    const days = deps.scoring().nurture.followUpDays;
    const ownerId = crmOwnerIdOf(state, deps.routing());
    const taskKey = `${state.leadId}:crm:nurture-task`;
    const { taskId } = await writeOnce(deps.ledger, taskKey, {
      find: () => deps.crm.findTask(contactId, taskKey),
      create: () =>
        deps.crm.createTask(contactId, {
          subject: `Nurture follow-up in ${days} days`,
          body: crmNote(state),
          dueAt: dueIn(deps.clock, days),
          ...(ownerId ? { ownerId } : {}),
          effectKey: taskKey,
        }),
    });
    return { crm: { contactId, nurtureStatus: NURTURE_STATUS, taskId } };
  };
}
