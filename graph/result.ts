/**
 * What a finished (or failed) run leaves on the lead record: the result summary admins read, the facets
 * the store indexes for search and reports, and the root cause of a failure.
 */
import { routeLabel } from "../domain/labels.ts";
import type { LeadFacets } from "../store/lead-store.ts";
import type { LeadState } from "./state.ts";

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The JSON summary stored on a completed lead: what admins and the API show. */
export function resultSummary(state: LeadState): Record<string, unknown> {
  const { score, route } = state;
  return {
    score: score?.value,
    tier: score?.tier,
    ruleScore: score?.ruleScore,
    reasons: score?.reasons ?? [],
    llm: score?.llm
      ? { adjustment: score.llm.adjustment, reasons: score.llm.reasons, model: score.llm.model }
      : undefined,
    owner: routeLabel(route),
    ownerId: route?.ownerId,
    queue: route?.queue,
    pool: route?.pool,
    rule: route?.ruleName,
    explanation: route?.explanation ?? [],
    path: state.path,
    warnings: state.warnings,
    notifications: state.notifications,
    crm: state.crm,
    ...(state.ownership ? { ownership: state.ownership } : {}),
    configVersion: route?.configVersion,
    scoringVersion: score?.configVersion,
    // What a what-if replay needs to score and route the lead again (app/what-if.ts); not shown to admins.
    replay: {
      lead: state.lead,
      enrichment: state.enrichment,
      facts: route?.facts,
      llm: score?.llm?.adjustment,
    },
  };
}

/** What the store indexes a lead by once a run has seen it: search fields, the route, report figures. */
export function leadFacets(state: LeadState): LeadFacets | undefined {
  const { lead, route, score } = state;
  if (!lead) return undefined;
  const values = state.enrichment?.values ?? {};
  const company = lead.company ?? values.companyName;
  const notifiedAt = state.notifications.map((n) => n.at).sort()[0];
  const facets: LeadFacets = {
    email: lead.email,
    emailDomain: lead.emailDomain,
    channel: lead.source,
    ...(company ? { company } : {}),
    ...(lead.companyDomain ? { domain: lead.companyDomain } : {}),
    ...(route?.ownerId ? { ownerId: route.ownerId } : {}),
    ...(route?.pool ? { pool: route.pool } : {}),
    ...(route?.queue ? { queue: route.queue } : {}),
    ...(route ? { rule: route.ruleName } : {}),
    ...(state.path ? { path: state.path } : {}),
    ...(score ? { tier: score.tier } : {}),
    ...(notifiedAt ? { notifiedAt } : {}),
  };
  const own = state.ownership;
  if (own) {
    const accepted =
      own.status === "accepted" && own.decidedAt && own.awaitingSince
        ? Date.parse(own.decidedAt) - Date.parse(own.awaitingSince)
        : Number.NaN;
    if (Number.isFinite(accepted)) facets.acceptMs = Math.max(0, accepted);
    const breachedBy = own.handoffs
      .filter((h) => h.kind === "sla" || h.kind === "escalate")
      .map((h) => h.from);
    // A reminder leaves no hand-off: it counts for the holder.
    for (let i = breachedBy.length; i < (own.breaches ?? 0); i++) breachedBy.push(own.ownerId ?? "review");
    if (breachedBy.length > 0) facets.slaBreachedBy = breachedBy;
    const moves = own.handoffs.filter((h) => h.to !== null && h.kind !== "escalate").length;
    if (moves > 0) facets.handoffs = moves;
  }
  if (state.llmUsage.length > 0)
    facets.llm = {
      calls: state.llmUsage.length,
      promptTokens: state.llmUsage.reduce((sum, u) => sum + u.promptTokens, 0),
      completionTokens: state.llmUsage.reduce((sum, u) => sum + u.completionTokens, 0),
    };
  return facets;
}

/** The innermost `cause` of an error (a vendor's own answer under our wrappers), when it says more. */
export function rootCauseOf(err: unknown): string | undefined {
  let current = err;
  for (let depth = 0; depth < 8; depth++) {
    const next = (current as { cause?: unknown } | null)?.cause;
    if (next === undefined || next === null) break;
    current = next;
  }
  if (current === err) return undefined;
  const message = messageOf(current);
  return message && message !== messageOf(err) ? message : undefined;
}
