import type { LeadStateValues as LeadState } from "../domain/snapshot.ts";
import type { Ledger, PostedMessage } from "../tools/ports.ts";

/** Ledger key of the message whose thread holds a person's leads (kept per lead, so a third lead finds it). */
const threadKey = (leadId: string) => `${leadId}:thread`;

/**
 * The thread a returning lead's note goes into: the earlier lead's own thread root, else its message, when
 * the lead went back to the same owner and that message is known. Slack threads hang off their first
 * message, never a reply, so the root is recorded for this lead too. Undefined: a normal message.
 */
export async function returningThread(ledger: Ledger, state: LeadState): Promise<PostedMessage | undefined> {
  const previous = state.route?.previous;
  if (!previous || previous.ownerId !== state.route?.ownerId) return undefined;
  const root =
    (await ledger.get<PostedMessage>(threadKey(previous.leadId))) ??
    (await ledger.get<PostedMessage>(`${previous.leadId}:notify`));
  if (!root) return undefined;
  return ledger.once(threadKey(state.leadId), async () => root);
}
