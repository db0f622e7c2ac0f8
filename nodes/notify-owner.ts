import { buildOwnerMessage, messageTarget, type OwnerMessageOptions } from "../domain/owner-message.ts";
import { buildReturningMessage } from "../domain/returning-message.ts";
import type { LeadStateValues as LeadState } from "../domain/snapshot.ts";
import { ownerDisplayName } from "../domain/summary.ts";
import type { NotificationRecord } from "../domain/types.ts";
import type { OwnerMessage, PostedMessage } from "../tools/ports.ts";
import type { GraphDeps, LeadNode } from "./deps.ts";
import { notifyKey, writeOnce } from "./effects.ts";
import { returningThread } from "./returning-thread.ts";

type Deps = Pick<GraphDeps, "notifier" | "ledger" | "routing" | "clock" | "publicUrl"> &
  Partial<Pick<GraphDeps, "crm">>;

/**
 * How the message links the lead's contact: its CRM record (HubSpot) once the contact id is known (a HubSpot
 * lead, or after syncCrm), else, with a CRM that has no pages of its own, the console's lead page. Never the
 * admin API, which answers an AE 401.
 */
export function contactLink(
  deps: Pick<GraphDeps, "publicUrl"> & Partial<Pick<GraphDeps, "crm">>,
  state: Pick<LeadState, "leadId"> & Partial<Pick<LeadState, "lead" | "crm">>,
): Pick<OwnerMessageOptions, "crmUrl" | "crmLabel"> {
  const contactId = state.crm?.contactId ?? state.lead?.hubspotContactId;
  if (deps.crm?.contactUrl) {
    const url = contactId ? deps.crm.contactUrl(contactId) : undefined;
    return url ? { crmUrl: url, crmLabel: "Open in HubSpot" } : {};
  }
  if (!deps.publicUrl) return {};
  const base = deps.publicUrl.replace(/\/$/, "");
  return { crmUrl: `${base}/console/leads/${encodeURIComponent(state.leadId)}`, crmLabel: "Open in console" };
}

/** The owner's message of the lead's current round: the DM, or a returning lead's note in the earlier thread. */
async function ownerMessageOf(
  deps: Deps,
  state: LeadState,
  key: string,
  round: number,
): Promise<OwnerMessage> {
  const routing = deps.routing();
  const ownerName = ownerDisplayName(state, routing);
  // A person the owner already has gets a short note in the thread of their earlier lead.
  const thread = round === 0 ? await returningThread(deps.ledger, state) : undefined;
  return {
    leadId: state.leadId,
    effectKey: key,
    ...messageTarget(state, routing),
    ...(thread
      ? { ...buildReturningMessage(state, routing), thread }
      : buildOwnerMessage(state, { ownerName, routing, ...contactLink(deps, state) })),
  };
}

/**
 * Posts once per lead. Slack has no idempotency key, so the ledger is the guard: a retry finds the stored
 * message and updates it in place instead of posting a second one. The message carries its ledger key (Slack
 * message metadata), so a post the ledger never recorded (the worker died in between) is found and adopted.
 */
export function createNotifyOwnerNode(deps: Deps): LeadNode {
  return async (state) => {
    // A hand-off (owner loop, round > 0) tells the new holder under a key of its own round.
    const round = state.ownership?.round ?? 0;
    const key = notifyKey(state.leadId, round);
    const message = await ownerMessageOf(deps, state, key, round);
    const previous = await deps.ledger.get<PostedMessage>(key);
    const posted = previous
      ? await deps.notifier.send(message, previous)
      : await writeOnce(deps.ledger, key, {
          find: () => deps.notifier.findPosted(message, postedAfter(state.receivedAt)),
          create: () => deps.notifier.send(message),
        });
    const record: NotificationRecord = {
      adapter: deps.notifier.name,
      channel: posted.channel,
      messageId: posted.messageId,
      ...(message.ownerId ? { ownerId: message.ownerId } : {}),
      at: deps.clock().toISOString(),
    };
    return { notifications: round === 0 ? [record] : [...state.notifications, record] };
  };
}

/**
 * The first DM goes out before syncCrm has the contact, so a new contact's message has no CRM link yet: once
 * syncCrm knows the id, the message is updated in place with the link to the contact's record (once per lead;
 * only where the CRM has pages, HubSpot with HUBSPOT_PORTAL_ID). Later rounds' messages are built with it.
 */
export async function linkContactInMessage(deps: Deps, state: LeadState, contactId: string): Promise<void> {
  const round = state.ownership?.round ?? 0;
  if (round !== 0 || state.path === "nurture") return;
  // The message had the link already, or the CRM has no page to link to.
  if (state.crm?.contactId || state.lead?.hubspotContactId || !deps.crm?.contactUrl?.(contactId)) return;
  const key = notifyKey(state.leadId, 0);
  const posted = await deps.ledger.get<PostedMessage>(key);
  if (!posted) return;
  const message = await ownerMessageOf(deps, { ...state, crm: { ...state.crm, contactId } }, key, 0);
  // A returning lead's note carries no link: nothing to change.
  if (message.thread) return;
  await deps.ledger.once(`${state.leadId}:notify:link`, () => deps.notifier.send(message, posted));
}

/** The message cannot be older than the lead; a minute's margin covers clocks that disagree. */
function postedAfter(receivedAt: string): Date {
  const ms = Date.parse(receivedAt);
  // An unreadable receivedAt (never from intake) widens the look-up to a day.
  return new Date((Number.isFinite(ms) ? ms : Date.now() - 86_400_000) - 60_000);
}
