/**
 * Over 300 lines because it is the routing decision in one pass (rules, assignments, pools, availability, explanation); its parts that stand alone live beside it.
 */
import type { Counters, LeadPath, PersonRoute, Route } from "../types.ts";
import { atCap, availability, count, outsideHours, waitsFor } from "./availability.ts";
import { checkConditions, compileConditions } from "./conditions.ts";
import { normalizeFacts, type RoutingFacts } from "./facts.ts";
import { localClockText } from "./hours.ts";
import { slotOf, smoothWeightedOrder } from "./round-robin.ts";
import type { Assignment, FallbackAssignment, Owner, Queue, RoutingConfig } from "./schema.ts";

export { factsFromState, type RegionOf, type RoutingFacts } from "./facts.ts";
export { isWorking, localDate, nextWorkingStart, workingMsBetween } from "./hours.ts";

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
  /** CRM owner id of the lead's CRM contact, for `{ type: "contact" }`. */
  contactOwnerCrmId?: string;
  /** The person's route within the returning window (sticky ownership), for `{ type: "contact" }`. */
  previous?: PersonRoute;
  /** Owners who already had this lead (re-routing after a decline or a missed SLA): passed over. */
  exclude?: readonly string[];
  /**
   * Explain every rule (default). False: the rules whose conditions did not hold are counted in runs
   * (`unmatchedRun`), not written one by one; the rules the lead stopped at are explained in full. That is
   * what a lead keeps: with thousands of rules the full text would outweigh the rest of the lead.
   */
  explain?: boolean;
}

/** The line that stands for rules `first`..`last` (1-based) when none of their conditions held. */
export function unmatchedRun(first: number, last: number): string {
  return first === last
    ? `rule ${first}: no — its conditions did not hold`
    : `rules ${first}–${last}: no — their conditions did not hold (${last - first + 1} rules)`;
}

export { CAP_TTL_SECONDS, capKey } from "./availability.ts";
export const poolKey = (poolId: string) => `rr:${poolId}`;

type Outcome =
  | {
      ok: true;
      owner?: Owner;
      queue?: Queue;
      pool?: string;
      capCounted?: string;
      /** Set when the owner got the lead outside their hours: when those start. */
      availableFrom?: Date;
      lines: string[];
    }
  | { ok: false; lines: string[] };

interface Context extends RouteOptions {
  config: RoutingConfig;
}

/** Gives back the daily-cap slot a decision took, when the lead could not be handed over after all. */
export async function releaseDecision(decision: RouteDecision, counters: Counters): Promise<void> {
  if (decision.capCounted !== undefined) await counters.decrement(decision.capCounted);
}

const findOwner = (config: RoutingConfig, id: string) => config.owners.find((o) => o.id === id);

/** The owner's outcome once their slot is taken; outside their hours the lead waits for them. */
function handed(owner: Owner, start: Date, key: string | undefined, ctx: Context, lines: string[]): Outcome {
  const outcome: Outcome = { ok: true, owner, lines };
  if (key !== undefined) outcome.capCounted = key;
  if (start.getTime() !== ctx.now.getTime()) {
    outcome.availableFrom = start;
    lines.push(waitsFor(owner, ctx.now, start));
  }
  return outcome;
}

/**
 * One named owner (owner, account and contact assignments). Their hours do not pass the rule over: the
 * territory or relationship stands, and the lead waits for the owner's hours to start.
 */
async function toNamedOwner(owner: Owner, ctx: Context, capped: boolean, line: string): Promise<Outcome> {
  const a = await availability(owner, ctx, capped);
  if (!a.ok) return { ok: false, lines: [a.why] };
  const counted = await count(owner, a.start, ctx, capped);
  if (!counted.taken) return { ok: false, lines: [atCap(owner)] };
  return handed(owner, a.start, counted.key, ctx, [line]);
}

function toOwner(ownerId: string, ctx: Context): Promise<Outcome> {
  const owner = findOwner(ctx.config, ownerId);
  if (!owner) return Promise.resolve({ ok: false, lines: [`owner ${ownerId} is not in routing.json`] });
  return toNamedOwner(owner, ctx, true, `assigned to owner ${owner.id}`);
}

interface Member {
  item: Owner;
  /** Whole number, as in routing.json. */
  weight: number;
  start: Date;
  inHours: boolean;
}

/**
 * Who a pool's turn is played over: the members inside their hours; when nobody is, those whose hours start
 * soonest. Says once why each other member is left out.
 */
function candidatesOf(members: Member[], poolId: string, ctx: Context, told: Set<Owner>, lines: string[]) {
  const inHours = members.filter((m) => m.inHours);
  const soonest = Math.min(...members.map((m) => m.start.getTime()));
  const candidates = inHours.length > 0 ? inHours : members.filter((m) => m.start.getTime() === soonest);
  if (inHours.length === 0 && !told.has(candidates[0]!.item))
    lines.push(
      `pool ${poolId}: nobody is inside their hours — ${candidates.map((m) => m.item.id).join(", ")} ${candidates.length === 1 ? "starts" : "start"} soonest`,
    );
  for (const m of members) {
    if (candidates.includes(m) || told.has(m.item)) continue;
    told.add(m.item);
    const later = inHours.length === 0 ? ` and starts later (${localClockText(m.item, m.start)})` : "";
    lines.push(`pool ${poolId}: ${outsideHours(m.item, ctx.now)}${later} — skipped`);
  }
  for (const m of candidates) told.add(m.item);
  return candidates;
}

async function toPool(poolId: string, ctx: Context): Promise<Outcome> {
  const pool = ctx.config.pools.find((p) => p.id === poolId);
  if (!pool) return { ok: false, lines: [`pool ${poolId} is not in routing.json`] };
  const lines: string[] = [];
  let members: Member[] = [];
  for (const member of pool.members) {
    const owner = findOwner(ctx.config, member.owner);
    const a = owner
      ? await availability(owner, ctx, true)
      : { ok: false as const, why: `owner ${member.owner} is not in routing.json` };
    if (owner && a.ok)
      members.push({ item: owner, weight: member.weight, start: a.start, inHours: a.inHours });
    else if (!a.ok) lines.push(`pool ${pool.id}: ${a.why} — skipped`);
  }
  if (members.length === 0) return { ok: false, lines: [...lines, `pool ${pool.id} has nobody available`] };
  const n = ctx.dryRun
    ? (await ctx.counters.get(poolKey(pool.id))) + 1
    : await ctx.counters.increment(poolKey(pool.id));
  const told = new Set<Owner>();
  // One turn per lead: a member who lost their last slot to a lead in flight elsewhere is left out and the
  // same turn is played over the others.
  while (members.length > 0) {
    const candidates = candidatesOf(members, pool.id, ctx, told, lines);
    const order = smoothWeightedOrder(candidates.map((m) => ({ item: m, weight: m.weight })));
    const slot = slotOf(n, order.length);
    const chosen = order[slot]!;
    const counted = await count(chosen.item, chosen.start, ctx, true);
    if (!counted.taken) {
      lines.push(`pool ${pool.id}: ${atCap(chosen.item)} — skipped`);
      members = members.filter((m) => m !== chosen);
      continue;
    }
    lines.push(
      `assigned to pool ${pool.id} → ${chosen.item.id} (weighted round-robin, slot ${slot + 1} of ${order.length})`,
    );
    const outcome = handed(chosen.item, chosen.start, counted.key, ctx, lines);
    return outcome.ok ? { ...outcome, pool: pool.id } : outcome;
  }
  return { ok: false, lines: [...lines, `pool ${pool.id} has nobody available`] };
}

function toAccountOwner(ctx: Context): Promise<Outcome> {
  const crmId = ctx.accountOwnerCrmId;
  if (crmId === undefined) return Promise.resolve({ ok: false, lines: ["no account owner known"] });
  const owner = ctx.config.owners.find((o) => o.crmOwnerId === crmId);
  if (!owner)
    return Promise.resolve({
      ok: false,
      lines: [`account owner (CRM owner ${crmId}) is not in routing.json`],
    });
  // No cap check: the account relationship outranks even distribution (README: unknown, inactive or away).
  return toNamedOwner(owner, ctx, false, `assigned to account owner ${owner.id} (CRM owner ${crmId})`);
}

/**
 * The owner the person already has: their CRM contact's owner, else the owner they were routed to within the
 * returning window. No round-robin turn and no cap check, as for an account owner; passed over when neither
 * is known or available.
 */
async function toContactOwner(ctx: Context): Promise<Outcome> {
  const lines: string[] = [];
  const tried = new Set<Owner>();
  const candidates: Array<{ owner: Owner | undefined; missing: string; line: (o: Owner) => string }> = [];
  const crmId = ctx.contactOwnerCrmId;
  if (crmId !== undefined)
    candidates.push({
      owner: ctx.config.owners.find((o) => o.crmOwnerId === crmId),
      missing: `contact owner (CRM owner ${crmId}) is not in routing.json`,
      line: (o) => `existing contact: owned by ${o.id} in the CRM (CRM owner ${crmId}), same owner`,
    });
  const previous = ctx.previous;
  if (previous)
    candidates.push({
      owner: findOwner(ctx.config, previous.ownerId),
      missing: `returning lead: owner ${previous.ownerId} is no longer in routing.json`,
      line: (o) =>
        `returning lead: routed to ${o.id} on ${previous.routedAt.slice(0, 10)} (lead ${previous.leadId}), same owner`,
    });
  for (const c of candidates) {
    if (!c.owner) lines.push(c.missing);
    if (!c.owner || tried.has(c.owner)) continue;
    tried.add(c.owner);
    const outcome = await toNamedOwner(c.owner, ctx, false, c.line(c.owner));
    if (outcome.ok) return { ...outcome, lines: [...lines, ...outcome.lines] };
    lines.push(...outcome.lines);
  }
  return { ok: false, lines: lines.length > 0 ? lines : ["no contact owner known"] };
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
    case "contact":
      return toContactOwner(ctx);
    case "queue":
      return Promise.resolve(toQueue(assignment.queue, ctx));
  }
}

const compiled = new WeakMap<RoutingConfig["rules"], Array<(facts: RoutingFacts) => boolean>>();

/** Each rule's conditions as one function, compiled once per loaded config. */
function compiledRules(config: RoutingConfig): Array<(facts: RoutingFacts) => boolean> {
  let predicates = compiled.get(config.rules);
  if (!predicates) {
    predicates = config.rules.map((rule) => compileConditions(rule.when));
    compiled.set(config.rules, predicates);
  }
  return predicates;
}

/**
 * Tries the rules in order; the first whose conditions all hold and whose assignment has someone
 * available wins, else the fallback. The explanation names every rule tried and why (see `explain`).
 */
export async function routeLead(
  facts: RoutingFacts,
  config: RoutingConfig,
  opts: RouteOptions,
): Promise<RouteDecision> {
  const ctx: Context = { ...opts, config };
  const normalized = normalizeFacts(facts);
  const explanation: string[] = [];
  const explain = opts.explain ?? true;
  const holds = explain ? [] : compiledRules(config);
  // The run of rules passed over without a word: index of its first rule, and its length.
  let runStart = 0;
  let runLength = 0;
  const closeRun = () => {
    if (runLength > 0) explanation.push(unmatchedRun(runStart + 1, runStart + runLength));
    runLength = 0;
  };

  for (const [index, rule] of config.rules.entries()) {
    if (!explain) {
      if (!(holds[index] as (facts: RoutingFacts) => boolean)(normalized)) {
        if (runLength === 0) runStart = index;
        runLength++;
        continue;
      }
      closeRun();
    }
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

  closeRun();
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
    if (outcome.availableFrom) decision.availableFrom = outcome.availableFrom.toISOString();
  }
  if (outcome.ok && outcome.pool) decision.pool = outcome.pool;
  if (ctx.previous) decision.previous = ctx.previous;
  if (outcome.ok && outcome.queue) {
    decision.queue = outcome.queue.id;
    decision.queueConfig = outcome.queue;
  }
  if (ctx.dryRun) decision.explanation.push("dry run: no counter moved");
  return decision;
}

export type DirectAssignment = { ok: true; decision: RouteDecision } | { ok: false; explanation: string[] };

/**
 * One assignment outside the rules, for re-routing a lead (the next available member of its pool, an owner
 * somebody picked): the same availability checks, exclusions, round-robin turn and cap count as a rule's.
 */
export async function assignOutsideRules(
  assignment: Assignment,
  config: RoutingConfig,
  opts: RouteOptions,
  ruleName: string,
): Promise<DirectAssignment> {
  const ctx: Context = { ...opts, config };
  const outcome = await assign(assignment, ctx);
  if (!outcome.ok) return { ok: false, explanation: outcome.lines };
  const path: LeadPath = outcome.queue?.path ?? "qualified";
  const base = { ruleName, kind: assignment.type, path, explanation: [...outcome.lines] };
  return { ok: true, decision: finish(base, outcome, ctx) };
}

/** The Route as stored on the lead: ids only, no config objects. */
export function toRoute(decision: RouteDecision): Route {
  const { ownerId, queue, ruleName, kind, pool, availableFrom, explanation, previous } = decision;
  return {
    ...(ownerId !== undefined && { ownerId }),
    ...(queue !== undefined && { queue }),
    ruleName,
    kind,
    ...(pool !== undefined && { pool }),
    ...(availableFrom !== undefined && { availableFrom }),
    explanation,
    ...(previous !== undefined && { previous }),
  };
}
