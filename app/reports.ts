/**
 * Reports over the leads received in a window of days (UTC): speed to lead (webhook to owner notified,
 * p50/p95 per day), leads per owner against their pool weight share, paths and tiers per day, failures and
 * retries, and the LLM's share of leads and its cost (tokens × LLM_*_PRICE_PER_1K); time to accept (p50/p90)
 * and SLA breaches per owner.
 *
 * The figures are computed from the stored leads' facets (store/lead-store.ts `LeadFacets`), read page by
 * page, at most MAX_REPORT_LEADS per report (the report says when it stopped there).
 */
import type { RoutingConfig } from "../domain/routing/schema.ts";
import type { LeadRecord, LeadStore } from "../store/lead-store.ts";

export const MAX_REPORT_LEADS = 50_000;
export const MAX_REPORT_DAYS = 90;

export interface Prices {
  /** USD per 1,000 prompt tokens. */
  prompt: number;
  completion: number;
}

export interface DaySpeed {
  day: string;
  notified: number;
  p50Ms?: number;
  p95Ms?: number;
}

export interface DayCounts {
  day: string;
  counts: Record<string, number>;
}

export interface OwnerShare {
  ownerId: string;
  leads: number;
  /** Of all leads that got an owner. */
  share: number;
}

export interface PoolShare {
  pool: string;
  leads: number;
  members: Array<{ ownerId: string; weight: number; weightShare: number; leads: number; share: number }>;
}

export interface Reports {
  from: string;
  to: string;
  days: string[];
  leads: number;
  /** True when the window held more than MAX_REPORT_LEADS leads: the newest were counted. */
  truncated: boolean;
  speedToLead: { overall: Omit<DaySpeed, "day">; byDay: DaySpeed[] };
  owners: { byOwner: OwnerShare[]; pools: PoolShare[] };
  /** Leads per path (qualified, review, nurture) per day. */
  paths: { byDay: DayCounts[]; totals: Record<string, number> };
  /** Leads per tier (hot, warm, cold) per day. */
  tiers: { byDay: DayCounts[]; totals: Record<string, number> };
  failures: {
    failedNow: number;
    retried: number;
    byNode: Record<string, number>;
    byDay: Array<{ day: string; failed: number; retried: number }>;
  };
  llm: {
    leads: number;
    leadsWithLlm: number;
    share: number;
    calls: number;
    promptTokens: number;
    completionTokens: number;
    costUsd: number;
    prices: Prices;
  };
  acceptance: Acceptance;
}

/** Time to accept and SLA breaches, overall and per owner (the owner loop). */
export interface Acceptance {
  available: boolean;
  note: string;
  accepted: number;
  p50Ms?: number;
  p90Ms?: number;
  slaBreaches: number;
  handoffs: number;
  byOwner: Array<{ ownerId: string; accepted: number; p50Ms?: number; p90Ms?: number; slaBreaches: number }>;
}

export type ReportSection = "speed-to-lead" | "owners" | "paths" | "failures" | "llm" | "acceptance";

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

function dayOf(iso: string): string {
  return iso.slice(0, 10);
}

/** The UTC days from `from` (inclusive) to `to` (exclusive). */
function daysBetween(from: Date, to: Date): string[] {
  const days: string[] = [];
  for (let t = from.getTime(); t < to.getTime(); t += 86_400_000)
    days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

/** A window of whole UTC days ending today. */
export function lastDays(days: number, now = new Date()): { from: Date; to: Date } {
  const end = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) + 86_400_000;
  return { from: new Date(end - days * 86_400_000), to: new Date(end) };
}

function speedOf(values: number[]): Omit<DaySpeed, "day"> {
  const sorted = [...values].sort((a, b) => a - b);
  const p50 = percentile(sorted, 50);
  const p95 = percentile(sorted, 95);
  return {
    notified: sorted.length,
    ...(p50 !== undefined ? { p50Ms: p50 } : {}),
    ...(p95 !== undefined ? { p95Ms: p95 } : {}),
  };
}

/** The reports over already-read leads: pure, so tests can hand it any leads. */
export function computeReports(
  leads: LeadRecord[],
  options: { from: Date; to: Date; routing: RoutingConfig; prices: Prices; truncated?: boolean },
): Reports {
  const days = daysBetween(options.from, options.to);
  const speedByDay = new Map<string, number[]>(days.map((d) => [d, []]));
  const pathsByDay = new Map<string, Record<string, number>>(days.map((d) => [d, {}]));
  const tiersByDay = new Map<string, Record<string, number>>(days.map((d) => [d, {}]));
  const failuresByDay = new Map(days.map((d) => [d, { failed: 0, retried: 0 }]));
  const ownerCounts = new Map<string, number>();
  const poolCounts = new Map<string, Map<string, number>>();
  const byNode: Record<string, number> = {};
  const llm = { leadsWithLlm: 0, calls: 0, promptTokens: 0, completionTokens: 0 };
  let failedNow = 0;
  let retried = 0;
  let routed = 0;
  const all: number[] = [];
  const acceptByOwner = new Map<string, number[]>();
  const breachesByOwner = new Map<string, number>();
  let handoffs = 0;

  for (const lead of leads) {
    const day = dayOf(lead.receivedAt);
    const f = lead.facets;
    if (f.notifiedAt) {
      const ms = Date.parse(f.notifiedAt) - Date.parse(lead.receivedAt);
      if (Number.isFinite(ms) && ms >= 0) {
        speedByDay.get(day)?.push(ms);
        all.push(ms);
      }
    }
    const path = f.path ?? (lead.status === "completed" ? "none" : undefined);
    if (path) {
      const counts = pathsByDay.get(day);
      if (counts) counts[path] = (counts[path] ?? 0) + 1;
    }
    if (f.tier) {
      const counts = tiersByDay.get(day);
      if (counts) counts[f.tier] = (counts[f.tier] ?? 0) + 1;
    }
    const failures = failuresByDay.get(day);
    if (lead.status === "failed") {
      failedNow += 1;
      if (failures) failures.failed += 1;
      const node = lead.lastError?.node ?? "unknown";
      byNode[node] = (byNode[node] ?? 0) + 1;
    }
    if (lead.attempts > 1) {
      retried += 1;
      if (failures) failures.retried += 1;
    }
    if (f.ownerId) {
      routed += 1;
      ownerCounts.set(f.ownerId, (ownerCounts.get(f.ownerId) ?? 0) + 1);
      if (f.pool) {
        const members = poolCounts.get(f.pool) ?? new Map<string, number>();
        members.set(f.ownerId, (members.get(f.ownerId) ?? 0) + 1);
        poolCounts.set(f.pool, members);
      }
    }
    if (f.acceptMs !== undefined && f.ownerId) {
      const list = acceptByOwner.get(f.ownerId) ?? [];
      list.push(f.acceptMs);
      acceptByOwner.set(f.ownerId, list);
    }
    for (const owner of f.slaBreachedBy ?? [])
      breachesByOwner.set(owner, (breachesByOwner.get(owner) ?? 0) + 1);
    handoffs += f.handoffs ?? 0;
    if (f.llm && f.llm.calls > 0) {
      llm.leadsWithLlm += 1;
      llm.calls += f.llm.calls;
      llm.promptTokens += f.llm.promptTokens;
      llm.completionTokens += f.llm.completionTokens;
    }
  }

  const pools: PoolShare[] = options.routing.pools.map((pool) => {
    const counts = poolCounts.get(pool.id) ?? new Map<string, number>();
    const leadsInPool = [...counts.values()].reduce((a, b) => a + b, 0);
    const totalWeight = pool.members.reduce((a, m) => a + m.weight, 0);
    return {
      pool: pool.id,
      leads: leadsInPool,
      members: pool.members.map((m) => {
        const n = counts.get(m.owner) ?? 0;
        return {
          ownerId: m.owner,
          weight: m.weight,
          weightShare: totalWeight > 0 ? m.weight / totalWeight : 0,
          leads: n,
          share: leadsInPool > 0 ? n / leadsInPool : 0,
        };
      }),
    };
  });
  const totals = (byDay: Map<string, Record<string, number>>) => {
    const sum: Record<string, number> = {};
    for (const counts of byDay.values())
      for (const [k, v] of Object.entries(counts)) sum[k] = (sum[k] ?? 0) + v;
    return sum;
  };
  const cost =
    (llm.promptTokens / 1000) * options.prices.prompt +
    (llm.completionTokens / 1000) * options.prices.completion;

  return {
    from: options.from.toISOString(),
    to: options.to.toISOString(),
    days,
    leads: leads.length,
    truncated: options.truncated ?? false,
    speedToLead: {
      overall: speedOf(all),
      byDay: days.map((day) => ({ day, ...speedOf(speedByDay.get(day) ?? []) })),
    },
    owners: {
      byOwner: [...ownerCounts.entries()]
        .map(([ownerId, n]) => ({ ownerId, leads: n, share: routed > 0 ? n / routed : 0 }))
        .sort((a, b) => b.leads - a.leads || a.ownerId.localeCompare(b.ownerId)),
      pools,
    },
    paths: {
      byDay: days.map((day) => ({ day, counts: pathsByDay.get(day) ?? {} })),
      totals: totals(pathsByDay),
    },
    tiers: {
      byDay: days.map((day) => ({ day, counts: tiersByDay.get(day) ?? {} })),
      totals: totals(tiersByDay),
    },
    failures: {
      failedNow,
      retried,
      byNode,
      byDay: days.map((day) => ({ day, ...(failuresByDay.get(day) ?? { failed: 0, retried: 0 }) })),
    },
    llm: {
      leads: leads.length,
      ...llm,
      share: leads.length > 0 ? llm.leadsWithLlm / leads.length : 0,
      costUsd: Math.round(cost * 1e6) / 1e6,
      prices: options.prices,
    },
    acceptance: acceptanceOf(acceptByOwner, breachesByOwner, handoffs),
  };
}

function acceptanceOf(
  acceptByOwner: Map<string, number[]>,
  breachesByOwner: Map<string, number>,
  handoffs: number,
): Acceptance {
  const pct = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const p50 = percentile(sorted, 50);
    const p90 = percentile(sorted, 90);
    return { ...(p50 !== undefined ? { p50Ms: p50 } : {}), ...(p90 !== undefined ? { p90Ms: p90 } : {}) };
  };
  const owners = new Set([...acceptByOwner.keys(), ...breachesByOwner.keys()]);
  const all = [...acceptByOwner.values()].flat();
  const slaBreaches = [...breachesByOwner.values()].reduce((a, b) => a + b, 0);
  return {
    available: all.length + slaBreaches > 0,
    note:
      all.length + slaBreaches > 0
        ? "Time to accept: from the accepting owner's message to their Accept. SLA breaches: per owner who let the SLA run out."
        : "No lead in the window was accepted or missed an SLA yet.",
    accepted: all.length,
    ...pct(all),
    slaBreaches,
    handoffs,
    byOwner: [...owners]
      .map((ownerId) => ({
        ownerId,
        accepted: acceptByOwner.get(ownerId)?.length ?? 0,
        ...pct(acceptByOwner.get(ownerId) ?? []),
        slaBreaches: breachesByOwner.get(ownerId) ?? 0,
      }))
      .sort((a, b) => b.accepted - a.accepted || a.ownerId.localeCompare(b.ownerId)),
  };
}

/** Reads the window's leads from the store, newest first, up to MAX_REPORT_LEADS. */
export async function readReportLeads(
  store: LeadStore,
  from: Date,
  to: Date,
): Promise<{ leads: LeadRecord[]; truncated: boolean }> {
  const leads: LeadRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listLeads({
      from: from.toISOString(),
      to: to.toISOString(),
      limit: 500,
      ...(cursor ? { cursor } : {}),
    });
    leads.push(...page.leads);
    cursor = page.nextCursor;
  } while (cursor && leads.length < MAX_REPORT_LEADS);
  return { leads: leads.slice(0, MAX_REPORT_LEADS), truncated: cursor !== undefined };
}
