import { buildOwnerMessage, messageTarget } from "../domain/owner-message.ts";
import { ownerDisplayName } from "../domain/summary.ts";
import type { NotificationRecord } from "../domain/types.ts";
import type { OwnerMessage, PostedMessage } from "../tools/ports.ts";
import type { GraphDeps, LeadNode } from "./deps.ts";

type Deps = Pick<GraphDeps, "notifier" | "ledger" | "routing" | "clock" | "publicUrl">;

/**
 * Posts once per lead. Slack has no idempotency key, so the ledger is the guard: a retry finds the stored
 * message and updates it in place instead of posting a second one.
 */
export function createNotifyOwnerNode(deps: Deps): LeadNode {
  return async (state) => {
    const routing = deps.routing();
    const ownerName = ownerDisplayName(state, routing);
    const message: OwnerMessage = {
      leadId: state.leadId,
      ...messageTarget(state, routing),
      ...buildOwnerMessage(state, ownerName, deps.publicUrl),
    };
    const key = `${state.leadId}:notify`;
    const previous = await deps.ledger.get<PostedMessage>(key);
    const posted = previous
      ? await deps.notifier.send(message, previous)
      : await deps.ledger.once(key, () => deps.notifier.send(message));
    const record: NotificationRecord = {
      adapter: deps.notifier.name,
      channel: posted.channel,
      messageId: posted.messageId,
      ...(message.ownerId ? { ownerId: message.ownerId } : {}),
      at: deps.clock().toISOString(),
    };
    return { notifications: [record] };
  };
}
