import type { Counters, LeadPath, Route } from "../types.ts";
import { checkConditions } from "./conditions.ts";
import { normalizeFacts, type RoutingFacts } from "./facts.ts";
import { slotOf, smoothWeightedOrder } from "./round-robin.ts";
import type { Assignment, FallbackAssignment, Owner, Queue, RoutingConfig } from "./schema.ts";

export { factsFromState, type RegionOf, type RoutingFacts } from "./facts.ts";

/** A Route plus what the caller needs to act on it without looking the ids up again. */
export interface RouteDecision extends Route {
  /** Base path: a queue's own path, "review" for the fallback, else "qualified" (see decidePath). */
  path: LeadPath;
  owner?: Owner;
  /** The queue's config; named apart from Route's `queue`, which holds its id. */
  queueConfig?: Queue;
  /** The daily-cap counter this decision moved; `releaseDecision` gives the slot back. */
  capCounted?: string;
}

export interface RouteOptions {
  counters: Counters;
  now: Date;
  /** Preview: predicts the round-robin pick from counters.get and moves no counter. */
  dryRun?: boolean;
  /** CRM owner id of the lead's existing company, for `{ type: "account" }`. */
  accountOwnerCrmId?: string;
}

// Two days so a counter outlives its UTC day whatever the store's clock skew, then disappears.
const CAP_TTL_SECONDS = 2 * 24 * 60 * 60;

export const capKey = (ownerId: string, day: string) => `cap:${ownerId}:${day}`;
export const poolKey = (poolId: string) => `rr:${poolId}`;

type Outcome =
  | { ok: true; owner?: Owner; queue?: Queue; pool?: string; capCounted?: string; lines: string[] }
  | { ok: false; lines: string[] };

interface Context extends RouteOptions {
  config: RoutingConfig;
  /** `now` as a UTC date, YYYY-MM-DD: away ranges and caps are per UTC day. */
  today: string;
}

/** Why an owner cannot take a lead today, or undefined when they can. */
async function unavailable(owner: Owner, ctx: Context, checkCap: boolean): Promise<string | undefined> {
  if (!owner.active) return `owner ${owner.id} is inactive`;
  const away = owner.away?.find((r) => r.from <= ctx.today && ctx.today <= r.to);
  if (away) return `owner ${owner.id} is away ${away.from}..${away.to}`;
  if (checkCap && owner.dailyCap !== undefined) {
    // A cheap read first, so a pool leaves out members already at their cap; `count` then takes the slot.
    const used = await ctx.counters.get(capKey(owner.id, ctx.today));
    if (used >= owner.dailyCap) return atCap(owner);
  }
  return undefined;
}

const atCap = (owner: Owner) => `owner ${owner.id} is at daily cap ${owner.dailyCap}`;

/**
 * Counts the lead on the owner's day. With `capped` and a daily cap, the slot is taken atomically
 * (incrementBelow): leads in flight in other workers cannot push the owner past the cap, and the
 * one that loses the race gets `{ taken: false }`. Uncapped assignments (account, contact) still count,
 * so a cap added mid-day starts from the true figure. A dry run moves nothing.
 */
async function count(owner: Owner, ctx: Context, capped: boolean): Promise<{ taken: boolean; key?: string }> {
  if (ctx.dryRun) return { taken: true };
  const key = capKey(owner.id, ctx.today);
  if (capped && owner.dailyCap !== undefined) {
    const { taken } = await ctx.counters.incrementBelow(key, owner.dailyCap, CAP_TTL_SECONDS);
    return taken ? { taken, key } : { taken };
  }
  await ctx.counters.increment(key, CAP_TTL_SECONDS);
  return { taken: true, key };
}

/** Gives back the daily-cap slot a decision took, when the lead could not be handed over after all. */
export async function releaseDecision(decision: RouteDecision, counters: Counters): Promise<void> {
  if (decision.capCounted !== undefined) await counters.decrement(decision.capCounted);
}

const findOwner = (config: RoutingConfig, id: string) => config.owners.find((o) => o.id === id);

async function toOwner(ownerId: string, ctx: Context): Promise<Outcome> {
  const owner = findOwner(ctx.config, ownerId);
  if (!owner) return { ok: false, lines: [`owner ${ownerId} is not in routing.json`] };
  const why = await unavailable(owner, ctx, true);
  if (why) return { ok: false, lines: [why] };
  const counted = await count(owner, ctx, true);
  if (!counted.taken) return { ok: false, lines: [atCap(owner)] };
  return { ok: true, owner, capCounted: counted.key, lines: [`assigned to owner ${owner.id}`] };
}

async function toPool(poolId: string, ctx: Context): Promise<Outcome> {
  const pool = ctx.config.pools.find((p) => p.id === poolId);
  if (!pool) return { ok: false, lines: [`pool ${poolId} is not in routing.json`] };
  const lines: string[] = [];
  const eligible: Array<{ item: Owner; weight: number }> = [];
  for (const member of pool.members) {
    const owner = findOwner(ctx.config, member.owner);
    const why = owner ? await unavailable(owner, ctx, true) : `owner ${member.owner} is not in routing.json`;
    if (owner && !why) eligible.push({ item: owner, weight: member.weight });
    else lines.push(`pool ${pool.id}: ${why} — skipped`);
  }
  if (eligible.length === 0) return { ok: false, lines: [...lines, `pool ${pool.id} has nobody available`] };
  const n = ctx.dryRun
    ? (await ctx.counters.get(poolKey(pool.id))) + 1
    : await ctx.counters.increment(poolKey(pool.id));
  // One turn per lead: a member who lost their last slot to a lead in flight elsewhere is left out and the
  // same turn is played over the others.
  while (eligible.length > 0) {
    const order = smoothWeightedOrder(eligible);
    const slot = slotOf(n, order.length);
    const owner = order[slot]!;
    const counted = await count(owner, ctx, true);
    if (!counted.taken) {
      lines.push(`pool ${pool.id}: ${atCap(owner)} — skipped`);
      eligible.splice(
        eligible.findIndex((m) => m.item === owner),
        1,
      );
      continue;
    }
    lines.push(
      `assigned to pool ${pool.id} → ${owner.id} (weighted round-robin, slot ${slot + 1} of ${order.length})`,
    );
    return { ok: true, owner, pool: pool.id, capCounted: counted.key, lines };
  }
  return { ok: false, lines: [...lines, `pool ${pool.id} has nobody available`] };
}

async function toAccountOwner(ctx: Context): Promise<Outcome> {
  const crmId = ctx.accountOwnerCrmId;
  if (crmId === undefined) return { ok: false, lines: ["no account owner known"] };
  const owner = ctx.config.owners.find((o) => o.crmOwnerId === crmId);
  if (!owner) return { ok: false, lines: [`account owner (CRM owner ${crmId}) is not in routing.json`] };
  // No cap check: the account relationship outranks even distribution (README: unknown, inactive or away).
  const why = await unavailable(owner, ctx, false);
  if (why) return { ok: false, lines: [why] };
  const counted = await count(owner, ctx, false);
  return {
    ok: true,
    owner,
    capCounted: counted.key,
    lines: [`assigned to account owner ${owner.id} (CRM owner ${crmId})`],
  };
}

function toQueue(queueId: string, ctx: Context): Outcome {
  const queue = ctx.config.queues.find((q) => q.id === queueId);
  if (!queue) return { ok: false, lines: [`queue ${queueId} is not in routing.json`] };
  return { ok: true, queue, lines: [`assigned to queue ${queue.id} "${queue.name}" (path ${queue.path})`] };
}

function assign(assignment: Assignment | FallbackAssignment, ctx: Context): Promise<Outcome> {
  switch (assignment.type) {
    case "owner":
      return toOwner(assignment.owner, ctx);
    case "pool":
      return toPool(assignment.pool, ctx);
    case "account":
      return toAccountOwner(ctx);
    case "queue":
      return Promise.resolve(toQueue(assignment.queue, ctx));
  }
}

/**
 * Tries the rules in order; the first whose conditions all hold and whose assignment has someone
 * available wins, else the fallback. The explanation names every rule tried and why.
 */
export async function routeLead(
  facts: RoutingFacts,
  config: RoutingConfig,
  opts: RouteOptions,
): Promise<RouteDecision> {
  const ctx: Context = { ...opts, config, today: opts.now.toISOString().slice(0, 10) };
  const normalized = normalizeFacts(facts);
  const explanation: string[] = [];

  for (const [index, rule] of config.rules.entries()) {
    const checks = checkConditions(rule.when, normalized);
    const failed = checks.filter((c) => !c.holds);
    const label = `rule ${index + 1} "${rule.name}"`;
    if (failed.length > 0) {
      explanation.push(`${label}: no — ${failed.map((c) => c.text).join("; ")}`);
      continue;
    }
    explanation.push(`${label}: yes — ${checks.map((c) => c.text).join("; ") || "no conditions"}`);
    const outcome = await assign(rule.assign, ctx);
    if (!outcome.ok) {
      explanation.push(...outcome.lines.slice(0, -1), `${outcome.lines.at(-1)} — rule passed over`);
      continue;
    }
    explanation.push(...outcome.lines);
    const path: LeadPath = outcome.queue?.path ?? "qualified";
    return finish({ ruleName: rule.name, kind: rule.assign.type, path, explanation }, outcome, ctx);
  }

  explanation.push("no rule matched — fallback");
  const outcome = await assign(config.fallback, ctx);
  explanation.push(...outcome.lines);
  if (!outcome.ok) explanation.push("fallback unavailable — the lead has no owner and waits for review");
  return finish({ ruleName: "fallback", kind: "fallback", path: "review", explanation }, outcome, ctx);
}

function finish(
  base: Pick<RouteDecision, "ruleName" | "kind" | "path" | "explanation">,
  outcome: Outcome,
  ctx: Context,
): RouteDecision {
  const decision: RouteDecision = { ...base };
  if (outcome.ok && outcome.owner) {
    decision.ownerId = outcome.owner.id;
    decision.owner = outcome.owner;
    if (outcome.capCounted !== undefined) decision.capCounted = outcome.capCounted;
  }
  if (outcome.ok && outcome.pool) decision.pool = outcome.pool;
  if (outcome.ok && outcome.queue) {
    decision.queue = outcome.queue.id;
    decision.queueConfig = outcome.queue;
  }
  if (ctx.dryRun) decision.explanation.push("dry run: no counter moved");
  return decision;
}

/** The Route as stored on the lead: ids only, no config objects. */
export function toRoute(decision: RouteDecision): Route {
  const { ownerId, queue, ruleName, kind, pool, explanation } = decision;
  return {
    ...(ownerId !== undefined && { ownerId }),
    ...(queue !== undefined && { queue }),
    ruleName,
    kind,
    ...(pool !== undefined && { pool }),
    explanation,
  };
}
