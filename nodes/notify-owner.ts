import { buildOwnerMessage, messageTarget } from "../domain/owner-message.ts";
import { buildReturningMessage } from "../domain/returning-message.ts";
import { ownerDisplayName } from "../domain/summary.ts";
import type { NotificationRecord } from "../domain/types.ts";
import type { OwnerMessage, PostedMessage } from "../tools/ports.ts";
import type { GraphDeps, LeadNode } from "./deps.ts";
import { writeOnce } from "./effects.ts";
import { returningThread } from "./returning-thread.ts";

type Deps = Pick<GraphDeps, "notifier" | "ledger" | "routing" | "clock" | "publicUrl">;

/**
 * Posts once per lead. Slack has no idempotency key, so the ledger is the guard: a retry finds the stored
 * message and updates it in place instead of posting a second one. The message carries its ledger key (Slack
 * message metadata), so a post the ledger never recorded (the worker died in between) is found and adopted.
 */
export function createNotifyOwnerNode(deps: Deps): LeadNode {
  return async (state) => {
    const routing = deps.routing();
    const ownerName = ownerDisplayName(state, routing);
    const key = `${state.leadId}:notify`;
    // A person the owner already has gets a short note in the thread of their earlier lead.
    const thread = await returningThread(deps.ledger, state);
    const message: OwnerMessage = {
      leadId: state.leadId,
      effectKey: key,
      ...messageTarget(state, routing),
      ...(thread
        ? { ...buildReturningMessage(state), thread }
        : buildOwnerMessage(state, ownerName, deps.publicUrl)),
    };
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
    return { notifications: [record] };
  };
}

/** The message cannot be older than the lead; a minute's margin covers clocks that disagree. */
function postedAfter(receivedAt: string): Date {
  const ms = Date.parse(receivedAt);
  // An unreadable receivedAt (never from intake) widens the look-up to a day.
  return new Date((Number.isFinite(ms) ? ms : Date.now() - 86_400_000) - 60_000);
}
