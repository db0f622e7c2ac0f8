/**
 * Handing a lead on (the owner loop): who gets it next, by the rule that fits the hand-off, with the same
 * availability checks, exclusions, round-robin turn and cap count as routing. Shared by applyDecision's owner
 * and review decisions.
 */
import {
  assignOutsideRules,
  factsFromState,
  type RouteDecision,
  routeLead,
} from "../domain/routing/engine.ts";
import type { Assignment } from "../domain/routing/schema.ts";
import type { LeadStateValues as LeadState } from "../domain/snapshot.ts";
import type { Issue } from "../domain/types.ts";
import type { GraphDeps } from "./deps.ts";

export type Deps = Pick<
  GraphDeps,
  "routing" | "counters" | "clock" | "notifier" | "ledger" | "logger" | "publicUrl" | "crm"
>;

/** Who gets the lead next, by the rule that fits the hand-off; null when nobody is available. */
export async function nextHolder(
  deps: Deps,
  state: LeadState,
  how: { to?: string; byRules?: boolean; account?: boolean },
  exclude: string[],
): Promise<{ decision: RouteDecision } | { none: string[] }> {
  const routing = deps.routing();
  const now = deps.clock();
  const facts = state.route?.facts ?? {};
  const options = {
    counters: deps.counters,
    now,
    exclude,
    ...(facts.accountOwnerCrmId ? { accountOwnerCrmId: facts.accountOwnerCrmId } : {}),
    ...(facts.contactOwnerCrmId ? { contactOwnerCrmId: facts.contactOwnerCrmId } : {}),
  };
  if (how.byRules) {
    const decision = await routeLead(
      factsFromState(state, { existingAccount: facts.existingAccount }),
      routing,
      {
        ...options,
        explain: false,
      },
    );
    return decision.ownerId ? { decision } : { none: decision.explanation };
  }
  let assignment: Assignment;
  if (how.to) assignment = { type: "owner", owner: how.to };
  else if (how.account) assignment = { type: "account" };
  else if (state.route?.pool) assignment = { type: "pool", pool: state.route.pool };
  else return nextHolder(deps, state, { byRules: true }, exclude);
  // A person picked by name is asked even if they had the lead before; a pool deals to those who have not.
  const picked = await assignOutsideRules(
    assignment,
    routing,
    how.to ? { ...options, exclude: [] } : options,
    state.route?.ruleName ?? "reassign",
  );
  return picked.ok && picked.decision.ownerId
    ? { decision: picked.decision }
    : { none: picked.ok ? [] : picked.explanation };
}

/** A warning of the owner loop's decision step. */
export function warning(code: string, message: string): Issue {
  return { node: "applyDecision", code, message };
}
