/**
 * The owner loop's writes to messages already posted: the outcome of a wait shown in place on the message
 * that asked for it (buttons gone), and a note to an escalation target or a reminder to the owner. Each
 * goes through the ledger under a key of its round, so a resumed lead never posts or updates twice.
 */
import { buildOwnerMessage, messageTarget } from "../domain/owner-message.ts";
import type { RoutingConfig } from "../domain/routing/schema.ts";
import type { LeadStateValues as LeadState } from "../domain/snapshot.ts";
import { ownerDisplayName } from "../domain/summary.ts";
import type { OwnerMessage, PostedMessage } from "../tools/ports.ts";
import type { GraphDeps } from "./deps.ts";

/** What a wait ended with, for the outcome line (the Slack layout's `DecidedOutcome`). */
export interface Outcome {
  kind: "accept" | "reassign" | "decline" | "sla" | "escalate" | "review" | "approve" | "route" | "nurture";
  by: string;
  at: string;
  to?: string | null;
  afterMs?: number;
  reason?: string;
  via?: "slack" | "admin" | "cli" | "timer";
}

/** The ledger key of the message of round `round` (round 0 keeps the key every earlier lead has). */
export function notifyKey(leadId: string, round: number): string {
  return round === 0 ? `${leadId}:notify` : `${leadId}:notify:${round}`;
}

function nameOf(id: string | null | undefined, routing: RoutingConfig): string {
  if (!id) return "nobody";
  return routing.owners.find((o) => o.id === id)?.name ?? routing.queues.find((q) => q.id === id)?.name ?? id;
}

/** The outcome in words, for the plain-text fallback and logs. */
export function outcomeText(outcome: Outcome, routing: RoutingConfig): string {
  const by = outcome.via === "timer" ? "" : ` by ${outcome.by}`;
  const after = outcome.afterMs === undefined ? "" : ` after ${Math.round(outcome.afterMs / 60_000)} min`;
  const to = outcome.to === undefined ? "" : ` to ${nameOf(outcome.to, routing)}`;
  const reason = outcome.reason ? ` (${outcome.reason})` : "";
  return `${outcome.kind}${to}${by}${after}${reason}`;
}

/** The message as decided: the lead's facts, the outcome, no buttons. */
function decidedBody(state: LeadState, outcome: Outcome, deps: Pick<GraphDeps, "routing" | "publicUrl">) {
  const routing = deps.routing();
  const body = buildOwnerMessage(state, ownerDisplayName(state, routing), deps.publicUrl);
  const line = outcomeText(outcome, routing);
  const blocks = body.blocks.filter((b) => b.type !== "actions");
  blocks.splice(blocks.length - 1, 0, { type: "context", elements: [{ type: "mrkdwn", text: line }] });
  return { text: `${line}: ${body.text}`, blocks };
}

/**
 * Updates the message of round `round` in place with `outcome`; `state` is the lead as that message showed
 * it (its route then). No message of that round (nothing was posted): nothing to update.
 */
export async function showOutcome(
  deps: Pick<GraphDeps, "notifier" | "ledger" | "routing" | "publicUrl">,
  state: LeadState,
  round: number,
  outcome: Outcome,
): Promise<void> {
  const previous = await deps.ledger.get<PostedMessage>(notifyKey(state.leadId, round));
  if (!previous) return;
  const message: OwnerMessage = {
    leadId: state.leadId,
    ...messageTarget(state, deps.routing()),
    ...decidedBody(state, outcome, deps),
  };
  await deps.ledger.once(`${state.leadId}:outcome:${round}`, () => deps.notifier.send(message, previous));
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
