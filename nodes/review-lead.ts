/**
 * Human review (docs/architecture.md, "The owner loop"): grey-zone leads the rules could not settle, and
 * fallback leads, are posted to the review queue's channel (`postReview`) and wait in `reviewLead`'s
 * `interrupt()` for a reviewer: Approve (to the routed owner), Route to… (an owner), or Nurture. The decision
 * resumes the graph like an owner's action (applyDecision acts on it).
 */
import { interrupt } from "@langchain/langgraph";
import { buildReviewMessage, reviewTarget } from "../domain/owner-message.ts";
import {
  currentWait,
  type Handoff,
  handedOver,
  type OwnerAction,
  type OwnerResume,
  type Ownership,
  type OwnerWait,
  reviewQueueOf,
} from "../domain/ownership.ts";
import { toRoute } from "../domain/routing/engine.ts";
import { formatDuration, queueSla } from "../domain/routing/sla.ts";
import type { LeadStateValues as LeadState } from "../domain/snapshot.ts";
import { ownerDisplayName } from "../domain/summary.ts";
import type { Issue, NotificationRecord, Route } from "../domain/types.ts";
import type { OwnerMessage } from "../tools/ports.ts";
import type { GraphDeps, LeadNode } from "./deps.ts";
import { reviewKey, writeOnce } from "./effects.ts";
import { type Deps, nextHolder, warning } from "./hand-over.ts";
import { contactLink } from "./notify-owner.ts";
import { type Outcome, showOutcome, tellEscalation } from "./owner-outcome.ts";

/** Posts the lead to the review queue's channel once (the ledger and the message's metadata guard it). */
export function createPostReviewNode(
  deps: Pick<GraphDeps, "notifier" | "ledger" | "routing" | "clock" | "publicUrl" | "crm">,
): LeadNode {
  return async (state) => {
    const routing = deps.routing();
    const target = reviewTarget(state, routing);
    // No review channel configured: the wait still happens, the admin API and CLI decide it.
    if (!target.channel) return {};
    const key = reviewKey(state.leadId);
    const message: OwnerMessage = {
      leadId: state.leadId,
      effectKey: key,
      ...target,
      ...buildReviewMessage(state, {
        ownerName: ownerDisplayName(state, routing),
        routing,
        ...contactLink(deps, state),
      }),
    };
    const posted = await writeOnce(deps.ledger, key, {
      find: () => deps.notifier.findPosted(message, new Date(Date.parse(state.receivedAt) - 60_000)),
      create: () => deps.notifier.send(message),
    });
    const record: NotificationRecord = {
      adapter: deps.notifier.name,
      channel: posted.channel,
      messageId: posted.messageId,
      at: deps.clock().toISOString(),
    };
    return { notifications: [...state.notifications, record] };
  };
}

/** Pauses until a reviewer decides (or the review queue's SLA runs out). */
export function createReviewLeadNode(deps: Pick<GraphDeps, "routing">): LeadNode {
  return async (state) => {
    const wait = currentWait(state, deps.routing(), "review");
    const decision = interrupt<OwnerWait, OwnerResume>(wait);
    return { decision };
  };
}

interface ReviewContext {
  decision: OwnerResume;
  round: number;
  by: string;
  at: string;
  afterMs: number;
  via: OwnerAction["via"];
  ownership: Ownership;
}

/**
 * A reviewer's decision: Approve (the routed owner gets the lead), Route to… (the owner picked), Nurture;
 * or the review queue's SLA ran out (its escalation target is told, the lead stays in review).
 */
export async function decideReview(
  deps: Deps,
  state: LeadState,
  ctx: ReviewContext,
): Promise<Partial<LeadState>> {
  const { decision, round, by, at, afterMs, via, ownership } = ctx;
  const routing = deps.routing();
  const show = (outcome: Outcome) => showOutcome(deps, state, round, outcome, reviewKey(state.leadId), true);
  const stay = (extra: Partial<Ownership>, warnings: Issue[] = []): Partial<LeadState> => ({
    ownership: {
      ...ownership,
      ownerId: null,
      status: "awaiting",
      round: round + 1,
      waitingFor: "review",
      ...extra,
    },
    ...(warnings.length > 0 ? { warnings } : {}),
  });
  if (decision.type === "timer") {
    const sla = queueSla(reviewQueueOf(state, routing), routing);
    const escalateTo = sla?.escalateTo;
    if (!escalateTo) return stay({ slaDone: true });
    await tellEscalation(
      deps,
      state,
      round,
      escalateTo,
      `⏰ Lead ${state.leadId} has waited ${formatDuration(afterMs)} for review without a decision (${sla.source}).`,
    );
    const handoff: Handoff = {
      from: "review",
      to: escalateTo,
      kind: "escalate",
      by: "sla-timer",
      at,
      afterMs,
    };
    return stay({
      slaDone: true,
      handoffs: [...ownership.handoffs, handoff],
      breaches: (ownership.breaches ?? 0) + 1,
    });
  }
  const action = decision.action;
  if (action.action === "nurture") {
    await show({ kind: "nurture", by, at, afterMs, via, to: null });
    const handoff: Handoff = { from: "review", to: null, kind: "review", by, at, afterMs, reason: "nurture" };
    return {
      path: "nurture",
      ownership: {
        ...ownership,
        ownerId: null,
        status: "declined",
        decidedBy: by,
        decidedAt: at,
        round,
        handoffs: [...ownership.handoffs, handoff],
      },
    };
  }
  let route: Route | undefined = state.route;
  if (action.action === "route") {
    const next = await nextHolder(deps, state, { to: action.to as string }, []);
    if ("none" in next)
      return stay({}, [
        warning("no_next_owner", `route to ${action.to}: ${next.none.at(-1) ?? "not available"}`),
      ]);
    const base = toRoute(next.decision);
    route = {
      ...base,
      explanation: [
        ...(state.route?.explanation ?? []),
        `review: routed to ${base.ownerId} by ${by} after ${formatDuration(afterMs)}`,
        ...base.explanation,
      ],
      ...(state.route?.facts ? { facts: state.route.facts } : {}),
      ...(state.route?.configVersion ? { configVersion: state.route.configVersion } : {}),
    };
  } else if (route) {
    route = {
      ...route,
      explanation: [...route.explanation, `review: approved by ${by} after ${formatDuration(afterMs)}`],
    };
  }
  const to = route?.ownerId;
  if (!to)
    return stay({}, [
      warning("no_owner_to_approve", "approve: the lead has no routed owner; route it to someone"),
    ]);
  await show({ kind: action.action === "route" ? "route" : "approve", by, at, afterMs, via, to });
  const handoff: Handoff = { from: "review", to, kind: "review", by, at, afterMs, reason: action.action };
  return {
    ...(route ? { route } : {}),
    path: "qualified",
    ownership: { ...handedOver(ownership, to, handoff, round), waitingFor: "owner" },
  };
}
