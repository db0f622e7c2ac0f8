/** Report figures from hand-built leads: percentiles, pool shares against weights, paths, failures, LLM cost. */
import { describe, expect, it } from "vitest";
import { computeReports, lastDays, percentile } from "../app/reports.ts";
import type { RoutingConfig } from "../domain/routing/schema.ts";
import type { LeadFacets, LeadRecord } from "../store/lead-store.ts";

function lead(receivedAt: string, facets: LeadFacets, extra: Partial<LeadRecord> = {}): LeadRecord {
  return {
    leadId: `${receivedAt}-${Math.random()}`,
    status: "completed",
    receivedAt,
    updatedAt: receivedAt,
    attempts: 1,
    payload: {},
    timeline: [],
    facets,
    ...extra,
  };
}

const routing = {
  owners: [],
  pools: [
    {
      id: "na",
      members: [
        { owner: "ann", weight: 3 },
        { owner: "bob", weight: 1 },
      ],
    },
  ],
  queues: [],
  rules: [],
} as unknown as RoutingConfig;

const at = (day: string, seconds: number) =>
  new Date(Date.parse(`${day}T10:00:00Z`) + seconds * 1000).toISOString();

describe("reports", () => {
  it("takes nearest-rank percentiles", () => {
    expect(percentile([], 50)).toBeUndefined();
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95)).toBe(10);
    expect(percentile([5], 95)).toBe(5);
  });

  it("computes speed to lead per day, pool shares against weights, paths, failures and LLM cost", () => {
    const leads = [
      lead(at("2026-03-02", 0), {
        notifiedAt: at("2026-03-02", 2),
        ownerId: "ann",
        pool: "na",
        path: "qualified",
        tier: "hot",
      }),
      lead(at("2026-03-02", 5), {
        notifiedAt: at("2026-03-02", 9),
        ownerId: "ann",
        pool: "na",
        path: "qualified",
        tier: "warm",
      }),
      lead(at("2026-03-02", 9), {
        notifiedAt: at("2026-03-02", 10),
        ownerId: "bob",
        pool: "na",
        path: "review",
        tier: "warm",
      }),
      lead(at("2026-03-03", 0), {
        path: "nurture",
        tier: "cold",
        llm: { calls: 2, promptTokens: 1500, completionTokens: 500 },
      }),
      lead(
        at("2026-03-03", 0),
        {},
        { status: "failed", attempts: 3, lastError: { node: "notifyOwner", message: "x", at: "" } },
      ),
    ];
    const { from, to } = lastDays(2, new Date("2026-03-03T12:00:00Z"));
    const r = computeReports(leads, { from, to, routing, prices: { prompt: 1, completion: 2 } });
    expect(r.days).toEqual(["2026-03-02", "2026-03-03"]);
    expect(r.speedToLead.byDay[0]).toEqual({ day: "2026-03-02", notified: 3, p50Ms: 2000, p95Ms: 4000 });
    expect(r.speedToLead.byDay[1]).toEqual({ day: "2026-03-03", notified: 0 });
    expect(r.owners.byOwner).toEqual([
      { ownerId: "ann", leads: 2, share: 2 / 3 },
      { ownerId: "bob", leads: 1, share: 1 / 3 },
    ]);
    expect(r.owners.pools[0]?.members).toEqual([
      { ownerId: "ann", weight: 3, weightShare: 0.75, leads: 2, share: 2 / 3 },
      { ownerId: "bob", weight: 1, weightShare: 0.25, leads: 1, share: 1 / 3 },
    ]);
    expect(r.paths.totals).toEqual({ qualified: 2, review: 1, nurture: 1 });
    expect(r.tiers.byDay[0]?.counts).toEqual({ hot: 1, warm: 2 });
    expect(r.failures).toMatchObject({ failedNow: 1, retried: 1, byNode: { notifyOwner: 1 } });
    expect(r.llm).toMatchObject({ leadsWithLlm: 1, share: 0.2, calls: 2, costUsd: 1.5 + 1 });
    expect(r.acceptance.available).toBe(false);
  });
});
