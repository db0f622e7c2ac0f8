/**
 * Daily caps hold across workers: two stores over the same data (two processes' connections) route leads at
 * once, and no owner ever gets more than their cap, in both profiles.
 */

import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRoutingConfig } from "../config/routing.ts";
import { routeLead } from "../domain/routing/engine.ts";
import type { RoutingConfig } from "../domain/routing/schema.ts";
import type { LeadStore } from "../store/lead-store.ts";
import { RedisLeadStore } from "../store/redis-lead-store.ts";
import { SqliteLeadStore } from "../store/sqlite-lead-store.ts";
import { startRedis, type TestRedis } from "./helpers/redis-server.ts";

const NOW = new Date("2026-06-15T12:00:00Z");

const config = ((): RoutingConfig => {
  const result = parseRoutingConfig({
    owners: [
      { id: "eve", name: "Eve", email: "eve@example.com", dailyCap: 3 },
      { id: "ann", name: "Ann", email: "ann@example.com", dailyCap: 4 },
      { id: "sam", name: "Sam", email: "sam@example.com", dailyCap: 2 },
    ],
    pools: [
      {
        id: "team",
        members: [
          { owner: "eve", weight: 2 },
          { owner: "ann", weight: 1 },
        ],
      },
    ],
    queues: [{ id: "review", name: "Review", path: "review" }],
    rules: [
      { name: "direct", when: { source: ["partner"] }, assign: { type: "owner", owner: "sam" } },
      { name: "pool", when: {}, assign: { type: "pool", pool: "team" } },
    ],
    fallback: { type: "queue", queue: "review" },
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.config;
})();

/** 60 leads routed at once, alternating between two workers' stores; half are partner leads for sam. */
async function routeAtOnce(workers: [LeadStore, LeadStore]) {
  const decisions = await Promise.all(
    Array.from({ length: 60 }, (_, i) =>
      routeLead({ source: i % 4 < 2 ? "partner" : "web" }, config, {
        counters: workers[i % 2]!.counters,
        now: NOW,
      }),
    ),
  );
  const owners: Record<string, number> = {};
  for (const d of decisions) owners[d.ownerId ?? "none"] = (owners[d.ownerId ?? "none"] ?? 0) + 1;
  return owners;
}

function expectCapsHeld(owners: Record<string, number>) {
  expect(owners).toEqual({ sam: 2, eve: 3, ann: 4, none: 51 });
}

describe("daily caps with two workers", () => {
  let redis: TestRedis;
  const dir = mkdtempSync(join(tmpdir(), "leadgraph-caps-"));

  beforeAll(async () => {
    redis = await startRedis();
  });

  afterAll(async () => {
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("SQLite: two connections to one database never exceed a cap", async () => {
    const path = join(dir, "leads.db");
    const workers: [LeadStore, LeadStore] = [new SqliteLeadStore({ path }), new SqliteLeadStore({ path })];
    try {
      expectCapsHeld(await routeAtOnce(workers));
      expect(await workers[1].counters.get("cap:eve:2026-06-15")).toBe(3);
      expect(await workers[0].counters.get("cap:ann:2026-06-15")).toBe(4);
    } finally {
      for (const w of workers) await w.close();
    }
  });

  it("Redis: two clients never exceed a cap", async () => {
    const prefix = `caps-${randomUUID()}`;
    const workers: [LeadStore, LeadStore] = [
      new RedisLeadStore({ redis: redis.url, prefix }),
      new RedisLeadStore({ redis: redis.url, prefix }),
    ];
    try {
      expectCapsHeld(await routeAtOnce(workers));
      expect(await workers[1].counters.get("cap:sam:2026-06-15")).toBe(2);
    } finally {
      for (const w of workers) await w.close();
    }
  });
});
