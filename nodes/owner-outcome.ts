/**
 * The owner loop's writes to messages already posted: the outcome of a wait shown in place on the message
 * that asked for it (buttons gone), and a note to an escalation target or a reminder to the owner. Each
 * goes through the ledger under a key of its round, so a resumed lead never posts or updates twice.
 */
import {
  buildDecidedMessage,
  type DecidedOutcome,
  messageTarget,
  reviewTarget,
} from "../domain/owner-message.ts";
import type { LeadStateValues as LeadState } from "../domain/snapshot.ts";
import { ownerDisplayName } from "../domain/summary.ts";
import type { OwnerMessage, PostedMessage } from "../tools/ports.ts";
import type { GraphDeps } from "./deps.ts";
import { notifyKey } from "./effects.ts";
import { contactLink } from "./notify-owner.ts";

/** What a wait ended with, for the message's outcome line. */
export type Outcome = DecidedOutcome;

/** The outcome in words, for logs. */
export function outcomeText(outcome: Outcome): string {
  return `${outcome.kind}${outcome.to ? ` to ${outcome.to}` : ""} by ${outcome.by}`;
}

/**
 * Updates the message of round `round` in place with `outcome`; `state` is the lead as that message showed
 * it (its route then). No message of that round (nothing was posted): nothing to update.
 */
export async function showOutcome(
  deps: Pick<GraphDeps, "notifier" | "ledger" | "routing" | "publicUrl" | "crm">,
  state: LeadState,
  round: number,
  outcome: Outcome,
  messageKey = notifyKey(state.leadId, round),
  review = false,
): Promise<void> {
  const previous = await deps.ledger.get<PostedMessage>(messageKey);
  if (!previous) return;
  const routing = deps.routing();
  const message: OwnerMessage = {
    leadId: state.leadId,
    ...(review ? reviewTarget(state, routing) : messageTarget(state, routing)),
    // The layout is domain/owner-message.ts's: the lead's facts, the outcome line, no buttons.
    ...buildDecidedMessage(state, outcome, {
      ownerName: ownerDisplayName(state, routing),
      routing,
      ...contactLink(deps, state),
    }),
  };
  await deps.ledger.once(`${state.leadId}:outcome:${round}`, () => deps.notifier.send(message, previous));
}

/** Tells an SLA's escalation target: the channel of the review queue it names, else the owner it names. */
export function tellEscalation(
  deps: Pick<GraphDeps, "notifier" | "ledger" | "routing">,
  state: LeadState,
  round: number,
  escalateTo: string,
  text: string,
): Promise<PostedMessage | undefined> {
  const isQueue = deps.routing().queues.some((q) => q.id === escalateTo);
  return tellAbout(deps, state, round, isQueue ? { queue: escalateTo } : { ownerId: escalateTo }, text);
}

/**
 * Tells someone about the lead without handing it over: the escalation target (an owner's DM or a queue's
 * channel), or the owner themselves as a reminder in the thread of their message.
 */
export async function tellAbout(
  deps: Pick<GraphDeps, "notifier" | "ledger" | "routing">,
  state: LeadState,
  round: number,
  to: { ownerId?: string; queue?: string; remind?: boolean },
  text: string,
): Promise<PostedMessage | undefined> {
  const routing = deps.routing();
  const key = `${state.leadId}:${to.remind ? "remind" : "escalate"}:${round}`;
  const target = to.queue
    ? { channel: routing.queues.find((q) => q.id === to.queue)?.channel }
    : messageTarget(
        {
          ...state,
          route: {
            ...(state.route ?? { ruleName: "", kind: "owner", explanation: [] }),
            ...(to.ownerId ? { ownerId: to.ownerId } : {}),
          },
        },
        routing,
      );
  const thread = to.remind ? await deps.ledger.get<PostedMessage>(notifyKey(state.leadId, round)) : undefined;
  const message: OwnerMessage = {
    leadId: state.leadId,
    ...target,
    text,
    blocks: [{ type: "section", text: { type: "mrkdwn", text } }],
    ...(thread ? { thread } : {}),
  } as OwnerMessage;
  if (!message.ownerEmail && !message.channel) return undefined;
  return deps.ledger.once(key, () => deps.notifier.send(message));
}
