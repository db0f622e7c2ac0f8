/**
 * What-if: a stored lead's decision replayed against a routing.json and scoring.json, so RevOps can see what
 * a candidate config would change before deploying it. Pure: the lead's stored facts in, a decision out; no
 * counter moves (pool picks are compared by pool, not by member) and no LLM is asked (a stored LLM
 * adjustment is applied again).
 */
import { routeLabel } from "./labels.ts";
import { routeLead } from "./routing/engine.ts";
import type { RoutingConfig } from "./routing/schema.ts";
import { clampScore, scoreByRules, tierOf } from "./scoring/rules.ts";
import type { ScoringConfig } from "./scoring/schema.ts";
import type { Counters, Enrichment, NormalizedLead, RouteFacts, Tier } from "./types.ts";

/** What a completed lead keeps for replays (graph/runner.ts `resultSummary`, `replay`). */
export interface ReplayInputs {
  lead?: NormalizedLead;
  enrichment?: Enrichment;
  facts?: RouteFacts;
  /** The LLM's grounded adjustment, when the lead had one. */
  llm?: number;
}

export interface ReplayDecision {
  /** Owner id, `pool:<id>` or `queue:<id>`, as labelled cases read a route. */
  owner: string;
  rule: string;
  tier: Tier | undefined;
  explanation: string[];
}

export type ChangedField = "owner" | "queue" | "tier";

export interface WhatIfChange {
  leadId: string;
  receivedAt: string;
  changed: ChangedField[];
  before: ReplayDecision;
  after: ReplayDecision;
}

/** Counters at zero that never move: caps never bind, a pool's first turn is taken. */
const STILL: Counters = {
  increment: async () => 1,
  incrementBelow: async (_key, limit) => ({ taken: limit > 0, value: 1 }),
  decrement: async () => 0,
  get: async () => 0,
};

/** The lead's decision under `routing` and `scoring`, at the time it arrived (away dates apply). */
export async function replayDecision(
  inputs: ReplayInputs,
  routing: RoutingConfig,
  scoring: ScoringConfig,
  at: Date,
): Promise<ReplayDecision> {
  const facts: RouteFacts = { ...inputs.facts };
  if (inputs.lead && inputs.enrichment) {
    const rules = scoreByRules(inputs.lead, inputs.enrichment, scoring);
    facts.tier = tierOf(clampScore(rules.ruleScore + (inputs.llm ?? 0)), scoring);
  }
  const decision = await routeLead(facts, routing, {
    counters: STILL,
    now: at,
    dryRun: true,
    ...(facts.accountOwnerCrmId ? { accountOwnerCrmId: facts.accountOwnerCrmId } : {}),
    ...(facts.contactOwnerCrmId ? { contactOwnerCrmId: facts.contactOwnerCrmId } : {}),
    ...(facts.previous ? { previous: facts.previous } : {}),
  });
  return {
    owner: routeLabel(decision),
    rule: decision.ruleName,
    tier: facts.tier,
    explanation: decision.explanation.filter((line) => !line.startsWith("dry run")),
  };
}

/** What differs between two decisions of the same lead. */
export function changesBetween(before: ReplayDecision, after: ReplayDecision): ChangedField[] {
  const changed: ChangedField[] = [];
  if (before.owner !== after.owner)
    changed.push(before.owner.startsWith("queue:") || after.owner.startsWith("queue:") ? "queue" : "owner");
  if (before.tier !== after.tier) changed.push("tier");
  return changed;
}
