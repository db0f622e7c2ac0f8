/**
 * Acceptance SLAs in routing.json: how long an owner (or a review queue) has to act on a lead, and what
 * happens when nobody does. Pure: the schema of an `sla` object, durations, which SLA applies to a route, and
 * its deadline, counted in the owner's working hours when they have them.
 */
import type { Route } from "../types.ts";
import { addWorkingMs, type OwnerSchedule } from "./hours.ts";
import type { RoutingConfig } from "./schema.ts";
import { parseDuration, type Sla } from "./sla-schema.ts";

export {
  BREACH_ACTIONS,
  type BreachAction,
  MAX_SLA_MS,
  parseDuration,
  type Sla,
  slaSchema,
} from "./sla-schema.ts";

/** 125_000 → "2m 5s": how long someone held a lead, in words a person reads. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const parts = [d && `${d}d`, h && `${h}h`, m && `${m}m`, s && `${s}s`].filter(Boolean);
  return parts.length === 0 ? "0s" : parts.slice(0, 2).join(" ");
}

/** An SLA as it applies to one lead: the policy and where it came from, for the explanation. */
export interface AppliedSla extends Sla {
  acceptWithinMs: number;
  /** `rule "na-west"`, `pool "emea"` or `queue "sdr-review"`. */
  source: string;
}

function applied(sla: Sla | undefined, source: string): AppliedSla | undefined {
  if (!sla) return undefined;
  return { ...sla, acceptWithinMs: parseDuration(sla.acceptWithin) ?? 0, source };
}

/**
 * The SLA an owner's acceptance runs under: the matched rule's, else its pool's. The rule is the more
 * specific RevOps decision, so it wins over the pool it assigns to.
 */
export function ownerSla(
  route: Pick<Route, "ruleName" | "pool"> | undefined,
  config: RoutingConfig,
): AppliedSla | undefined {
  if (!route) return undefined;
  const rule = config.rules.find((r) => r.name === route.ruleName);
  const pool = route.pool ? config.pools.find((p) => p.id === route.pool) : undefined;
  return applied(rule?.sla, `rule "${route.ruleName}"`) ?? applied(pool?.sla, `pool "${route.pool}"`);
}

/** The SLA of a review queue: how long reviewers have before the escalation target is told. */
export function queueSla(queueId: string | undefined, config: RoutingConfig): AppliedSla | undefined {
  const queue = queueId ? config.queues.find((q) => q.id === queueId) : undefined;
  return applied(queue?.sla, `queue "${queueId}"`);
}

/**
 * When the SLA runs out for someone told at `since`: counted in the owner's working hours when they have
 * hours (a lead given at 6 p.m. with "2h" is due two working hours into their next day), else wall-clock
 * time (a review queue, an owner without hours).
 */
export function slaDeadline(since: Date, sla: AppliedSla, owner?: OwnerSchedule): Date {
  return (
    (owner && addWorkingMs(owner, since, sla.acceptWithinMs)) ??
    new Date(since.getTime() + sla.acceptWithinMs)
  );
}

/** The SLA in words, for the explanation and the message footer. */
export function describeSla(sla: AppliedSla): string {
  const breach =
    sla.onBreach === "reassign"
      ? `reassign (at most ${sla.maxReassignments} times${sla.escalateTo ? `, then escalate to ${sla.escalateTo}` : ""})`
      : sla.onBreach === "escalate"
        ? `escalate to ${sla.escalateTo}`
        : "remind the owner";
  return `accept within ${sla.acceptWithin} (${sla.source}); if missed: ${breach}`;
}
