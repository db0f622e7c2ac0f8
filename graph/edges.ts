import type { LeadState } from "./state.ts";

/**
 * After the summary: a lead the rules could not settle (grey zone, fallback) is reviewed first (postReview,
 * then reviewLead waits for a decision); any other goes to its owner.
 */
export function pathAfterSummary(state: Pick<LeadState, "path">): "notifyOwner" | "postReview" {
  return state.path === "review" ? "postReview" : "notifyOwner";
}

/** Low scores never reach an AE: nurture; qualified and review leads get a summary and a message. */
export function pathAfterRouting(state: Pick<LeadState, "path">): "summarize" | "nurtureLead" {
  return state.path === "nurture" ? "nurtureLead" : "summarize";
}

/**
 * After the CRM is written: a lead with an owner waits for them (awaitOwner); a nurture lead, a lead routed to
 * a queue, and a lead whose owner has decided are done.
 */
export function pathAfterCrm(
  state: Pick<LeadState, "path" | "route" | "ownership">,
): "awaitOwner" | "__end__" {
  if (state.path === "nurture" || !state.route?.ownerId) return "__end__";
  const status = state.ownership?.status;
  return status === undefined || status === "awaiting" || status === "reassigned" ? "awaitOwner" : "__end__";
}

/**
 * After a decision: a lead handed to someone new tells them (notifyOwner, then syncCrm moves the CRM owner);
 * one kept by its holder (escalated, reminded) waits again; a not-a-buyer goes to nurture; the rest are done.
 */
export function pathAfterDecision(
  state: Pick<LeadState, "path" | "ownership">,
): "notifyOwner" | "awaitOwner" | "reviewLead" | "nurtureLead" | "__end__" {
  const status = state.ownership?.status;
  if (status === "reassigned") return "notifyOwner";
  // Kept where it was (escalated, reminded): a lead in review waits for its reviewers again.
  if (status === "awaiting") return state.path === "review" ? "reviewLead" : "awaitOwner";
  if (state.path === "nurture") return "nurtureLead";
  return "__end__";
}
