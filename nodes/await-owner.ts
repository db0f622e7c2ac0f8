/**
 * The owner loop (docs/architecture.md, "The owner loop"). `awaitOwner` pauses the lead in LangGraph's
 * `interrupt()` until an action or the SLA timer resumes it with `Command({ resume })`; it has no side effect,
 * so the checkpoint after it holds the decision durably. `applyDecision` then acts on it: accepted (the
 * message says so), handed to someone else (re-routed: a new message and CRM owner follow), sent to
 * nurture, disqualified, escalated or reminded.
 */
import { interrupt } from "@langchain/langgraph";
import {
  currentWait,
  type Handoff,
  handedOver,
  type OwnerAction,
  type OwnerResume,
  type Ownership,
  type OwnerWait,
  ownersWhoHadIt,
  reassignmentsOf,
} from "../domain/ownership.ts";
import { toRoute } from "../domain/routing/engine.ts";
import { formatDuration, ownerSla } from "../domain/routing/sla.ts";
import type { LeadStateValues as LeadState } from "../domain/snapshot.ts";
import type { Route } from "../domain/types.ts";
import type { GraphDeps, LeadNode } from "./deps.ts";
import { type Deps, nextHolder, warning } from "./hand-over.ts";
import { type Outcome, showOutcome, tellAbout, tellEscalation } from "./owner-outcome.ts";
import { decideReview } from "./review-lead.ts";

/** Pauses until an owner's action or the SLA timer; the wait it shows the runner is `currentWait`'s. */
export function createAwaitOwnerNode(deps: Pick<GraphDeps, "routing">): LeadNode {
  return async (state) => {
    const wait = currentWait(state, deps.routing(), "owner");
    // Resumed with the value of the action or timer that ended this wait (graph/runner.ts checks its round).
    const decision = interrupt<OwnerWait, OwnerResume>(wait);
    return { decision };
  };
}

const byOf = (d: OwnerResume): string => (d.type === "timer" ? "sla-timer" : d.action.by);
const viaOf = (d: OwnerResume): OwnerAction["via"] => (d.type === "timer" ? "timer" : d.action.via);

/** Acts on the decision that ended the wait (see the file comment); every hand-off is on `ownership`. */
export function createApplyDecisionNode(deps: Deps): LeadNode {
  return async (state) => {
    const decision = state.decision;
    if (!decision) throw new Error("applyDecision: no decision in state (awaitOwner did not run)");
    const routing = deps.routing();
    // A lead in review (grey zone, fallback) waits for reviewers; any other for its owner.
    const reviewing = state.path === "review";
    const wait = currentWait(state, routing, reviewing ? "review" : "owner");
    const round = wait.round;
    const ownership: Ownership = state.ownership ?? {
      ownerId: wait.ownerId,
      status: "awaiting",
      handoffs: [],
    };
    const at = decision.at;
    const afterMs = Math.max(0, Date.parse(at) - Date.parse(wait.since));
    const by = byOf(decision);
    const via = viaOf(decision);
    const from = reviewing ? "review" : (state.route?.ownerId ?? "");
    const decided = (status: Ownership["status"]): Ownership => ({
      ...ownership,
      ownerId: status === "accepted" ? from : ownership.ownerId,
      status,
      decidedBy: by,
      decidedAt: at,
      awaitingSince: wait.since,
      round,
    });

    /** The lead moves to the next holder: old message updated, route and ownership say why. */
    const handOver = async (
      kind: Handoff["kind"],
      how: { to?: string; byRules?: boolean; account?: boolean },
      reason?: string,
    ): Promise<Partial<LeadState> | undefined> => {
      const next = await nextHolder(deps, state, how, ownersWhoHadIt(ownership, from));
      if ("none" in next) return undefined;
      const to = next.decision.ownerId as string;
      const handoff: Handoff = { from, to, kind, by, at, afterMs, ...(reason ? { reason } : {}) };
      const outcomeKind: Outcome["kind"] =
        kind === "decline" ? "decline" : kind === "sla" ? "sla" : "reassign";
      await showOutcome(deps, state, round, {
        kind: outcomeKind,
        by,
        at,
        to,
        afterMs,
        via,
        ...(reason ? { reason } : {}),
      });
      const why = `${kind === "sla" ? "SLA missed" : kind === "decline" ? `declined${reason ? ` (${reason})` : ""}` : "reassigned"} by ${by} after ${formatDuration(afterMs)}: ${from} → ${to}`;
      const base: Route = toRoute(next.decision);
      const route: Route = {
        ...(state.route ?? base),
        ...base,
        explanation: [
          ...(state.route?.explanation ?? []),
          `hand-off ${round + 1}: ${why}`,
          ...base.explanation,
        ],
        ...(state.route?.facts ? { facts: state.route.facts } : {}),
        ...(state.route?.configVersion ? { configVersion: state.route.configVersion } : {}),
      };
      deps.logger.info({ leadId: state.leadId, kind, from, to, round }, "lead handed over");
      return {
        route,
        path: "qualified",
        ownership: handedOver(ownership, to, handoff, round),
      };
    };

    /** Nobody else can take it: the holder keeps it (told so), and the SLA stops firing. */
    const keep = async (why: string): Promise<Partial<LeadState>> => {
      await tellAbout(
        deps,
        state,
        round,
        { ownerId: from, remind: true },
        `This lead stays with you: ${why}.`,
      );
      return {
        ownership: { ...ownership, round: round + 1, slaDone: true },
        warnings: [warning("no_next_owner", why)],
      };
    };

    if (reviewing) return decideReview(deps, state, { decision, round, by, at, afterMs, via, ownership });

    if (decision.type === "action") {
      const action = decision.action;
      if (action.action === "accept") {
        await showOutcome(deps, state, round, { kind: "accept", by, at, afterMs, via });
        return { ownership: decided("accepted") };
      }
      if (action.action === "reassign")
        return (
          (await handOver("reassign", action.to ? { to: action.to } : {})) ??
          keep(`nobody else in ${state.route?.pool ? `pool ${state.route.pool}` : "the rules"} can take it`)
        );
      if (action.action === "decline") {
        const reason = action.reason ?? "";
        if (reason === "wrong_territory" || reason === "existing_customer") {
          const moved = await handOver(
            "decline",
            reason === "existing_customer" ? { account: true } : { byRules: true },
            reason,
          );
          if (moved) return moved;
          await showOutcome(deps, state, round, { kind: "decline", by, at, afterMs, via, reason, to: null });
          return {
            ownership: {
              ...decided("declined"),
              ownerId: null,
              handoffs: [...ownership.handoffs, { from, to: null, kind: "decline", by, at, afterMs, reason }],
            },
            warnings: [warning("no_next_owner", `declined (${reason}) and no other owner is available`)],
          };
        }
        // Not a buyer: marketing nurtures it; spam: disqualified, nobody follows up.
        await showOutcome(deps, state, round, { kind: "decline", by, at, afterMs, via, reason, to: null });
        const handoff: Handoff = { from, to: null, kind: "decline", by, at, afterMs, reason };
        const declined = {
          ...decided("declined"),
          ownerId: null,
          handoffs: [...ownership.handoffs, handoff],
        };
        return reason === "not_a_buyer" ? { ownership: declined, path: "nurture" } : { ownership: declined };
      }
      throw new Error(
        `applyDecision: "${action.action}" is a review action, and the lead waits for its owner`,
      );
    }

    // The SLA ran out: whatever it does, the breach is counted on the lead (reports).
    const breach = async (): Promise<Partial<LeadState>> => {
      const sla = ownerSla(state.route, routing);
      if (!sla) return { ownership: { ...ownership, round: round + 1, slaDone: true } };
      if (sla.onBreach === "reassign" && reassignmentsOf(ownership) < sla.maxReassignments) {
        const moved = await handOver("sla", {});
        if (moved) return moved;
      }
      const escalateTo = sla.escalateTo;
      if (sla.onBreach !== "notify" && escalateTo) {
        await tellEscalation(
          deps,
          state,
          round,
          escalateTo,
          `⏰ Lead ${state.leadId} has waited ${formatDuration(afterMs)} for ${from} without an answer (${sla.source}).`,
        );
        const handoff: Handoff = { from, to: escalateTo, kind: "escalate", by: "sla-timer", at, afterMs };
        return {
          ownership: {
            ...ownership,
            handoffs: [...ownership.handoffs, handoff],
            round: round + 1,
            slaDone: true,
          },
        };
      }
      if (sla.onBreach === "reassign")
        return keep(`the SLA ran out and nobody else can take it (${sla.source})`);
      await tellAbout(
        deps,
        state,
        round,
        { ownerId: from, remind: true },
        `⏰ Reminder: this lead has waited ${formatDuration(afterMs)} for you.`,
      );
      return { ownership: { ...ownership, round: round + 1, slaDone: true } };
    };
    const done = await breach();
    const after = done.ownership ?? ownership;
    return { ...done, ownership: { ...after, breaches: (ownership.breaches ?? 0) + 1 } };
  };
}
