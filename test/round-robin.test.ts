import { describe, expect, it } from "vitest";
import { parseRoutingConfig } from "../config/routing.ts";
import { routeLead } from "../domain/routing/engine.ts";
import { slotOf, smoothWeightedOrder } from "../domain/routing/round-robin.ts";
import type { RoutingConfig } from "../domain/routing/schema.ts";
import { MemoryCounters } from "../store/memory.ts";

const NOW = new Date("2026-03-02T10:00:00Z");

interface Member {
  id: string;
  weight: number;
  away?: boolean;
  dailyCap?: number;
}

function poolConfig(members: Member[]): RoutingConfig {
  const result = parseRoutingConfig({
    owners: members.map((m) => ({
      id: m.id,
      name: m.id,
      email: `${m.id}@example.com`,
      ...(m.away && { away: [{ from: "2026-03-01", to: "2026-03-02" }] }),
      ...(m.dailyCap !== undefined && { dailyCap: m.dailyCap }),
    })),
    pools: [{ id: "p", members: members.map((m) => ({ owner: m.id, weight: m.weight })) }],
    queues: [{ id: "q", name: "Q", path: "review" }],
    rules: [{ name: "all", when: {}, assign: { type: "pool", pool: "p" } }],
    fallback: { type: "queue", queue: "q" },
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.config;
}

async function assignMany(config: RoutingConfig, n: number): Promise<Array<string | undefined>> {
  const counters = new MemoryCounters();
  const owners: Array<string | undefined> = [];
  for (let i = 0; i < n; i++) owners.push((await routeLead({}, config, { counters, now: NOW })).ownerId);
  return owners;
}

const count = (xs: Array<string | undefined>, x: string) => xs.filter((y) => y === x).length;

/** Largest gap, over every prefix, between a member's count and its weight share of that prefix. */
function maxDeviation(order: string[], weights: Record<string, number>): number {
  const total = Object.values(weights).reduce((a, b) => a + b, 0);
  const seen: Record<string, number> = {};
  let worst = 0;
  order.forEach((id, k) => {
    seen[id] = (seen[id] ?? 0) + 1;
    for (const [member, weight] of Object.entries(weights))
      worst = Math.max(worst, Math.abs((seen[member] ?? 0) - ((k + 1) * weight) / total));
  });
  return worst;
}

describe("smoothWeightedOrder", () => {
  it("spreads a 3:2:1 cycle out as nginx does", () => {
    const order = smoothWeightedOrder([
      { item: "a", weight: 3 },
      { item: "b", weight: 2 },
      { item: "c", weight: 1 },
    ]);
    expect(order.join("")).toBe("abacba");
  });

  it("gives each member exactly its weight per cycle", () => {
    const order = smoothWeightedOrder([
      { item: "a", weight: 7 },
      { item: "b", weight: 3 },
      { item: "c", weight: 2 },
    ]);
    expect(order).toHaveLength(12);
    expect([count(order, "a"), count(order, "b"), count(order, "c")]).toEqual([7, 3, 2]);
  });

  it("maps counter values onto slots cyclically", () => {
    expect([1, 2, 6, 7, 13].map((n) => slotOf(n, 6))).toEqual([0, 1, 5, 0, 0]);
  });
});

describe("weighted round-robin through routeLead", () => {
  it.each([[[3, 2, 1]], [[5, 3, 1, 1]], [[1, 1]], [[7, 2]]])(
    "over 1,000 leads each member's share is within 1 point of its weight share (%j)",
    async (weights) => {
      const members = weights.map((weight, i) => ({ id: `m${i}`, weight }));
      const owners = await assignMany(poolConfig(members), 1000);
      const total = weights.reduce((a, b) => a + b, 0);
      for (const m of members) {
        const share = count(owners, m.id) / 1000;
        expect(Math.abs(share - m.weight / total), m.id).toBeLessThanOrEqual(0.01);
      }
    },
  );

  it("never assigns an away member and shares its leads by the others' weights", async () => {
    const owners = await assignMany(
      poolConfig([
        { id: "a", weight: 3 },
        { id: "b", weight: 1 },
        { id: "gone", weight: 4, away: true },
      ]),
      1000,
    );
    expect(count(owners, "gone")).toBe(0);
    expect(count(owners, "a")).toBe(750);
    expect(count(owners, "b")).toBe(250);
  });

  it("stops assigning to a member at its daily cap", async () => {
    const owners = await assignMany(
      poolConfig([
        { id: "a", weight: 1 },
        { id: "b", weight: 1 },
        { id: "capped", weight: 2, dailyCap: 5 },
      ]),
      100,
    );
    expect(count(owners, "capped")).toBe(5);
    expect(count(owners, "a") + count(owners, "b")).toBe(95);
    expect(owners.slice(-20)).not.toContain("capped");
  });

  it("is smooth: no member runs ahead of its share by a whole lead, unlike a bursty order", async () => {
    const weights = { m0: 5, m1: 3, m2: 1, m3: 1 };
    const members = Object.entries(weights).map(([id, weight]) => ({ id, weight }));
    const owners = (await assignMany(poolConfig(members), 1000)) as string[];
    expect(maxDeviation(owners, weights)).toBeLessThan(1);

    // The same shares in runs (m0 five times, then m1 three times, ...) fail the same measure.
    const bursty = Array.from({ length: 100 }, () =>
      members.flatMap((m) => Array(m.weight).fill(m.id)),
    ).flat();
    expect(maxDeviation(bursty, weights)).toBeGreaterThanOrEqual(1);
  });

  it("never gives the heaviest member of 3:2:1 more than two leads in a row", async () => {
    const owners = await assignMany(
      poolConfig([
        { id: "a", weight: 3 },
        { id: "b", weight: 2 },
        { id: "c", weight: 1 },
      ]),
      1000,
    );
    let run = 1;
    let longest = 1;
    for (let i = 1; i < owners.length; i++) {
      run = owners[i] === owners[i - 1] ? run + 1 : 1;
      longest = Math.max(longest, run);
    }
    expect(longest).toBe(2);
  });
});
