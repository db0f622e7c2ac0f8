import { describe, expect, it } from "vitest";
import { parseRoutingConfig } from "../config/routing.ts";
import { routeLead, toRoute } from "../domain/routing/engine.ts";
import type { RoutingConfig } from "../domain/routing/schema.ts";
import { MemoryCounters } from "../store/memory.ts";

const weekdays = (range: string) => ({ "mon-fri": range });

function config(rules: unknown[]): RoutingConfig {
  const result = parseRoutingConfig({
    owners: [
      {
        id: "maria",
        name: "Maria",
        email: "maria@example.com",
        timezone: "Europe/Berlin",
        hours: weekdays("09:00-17:30"),
        dailyCap: 2,
      },
      {
        id: "lena",
        name: "Lena",
        email: "lena@example.com",
        timezone: "America/Los_Angeles",
        hours: weekdays("08:00-17:00"),
      },
      {
        id: "kenji",
        name: "Kenji",
        email: "kenji@example.com",
        timezone: "Asia/Tokyo",
        hours: weekdays("09:30-18:30"),
        away: [{ from: "2026-10-09", to: "2026-10-09" }],
      },
      { id: "sam", name: "Sam", email: "sam@example.com" },
    ],
    pools: [
      {
        id: "world",
        members: [
          { owner: "maria", weight: 1 },
          { owner: "lena", weight: 1 },
          { owner: "kenji", weight: 1 },
        ],
      },
    ],
    queues: [{ id: "review", name: "Review", path: "review" }],
    rules,
    fallback: { type: "queue", queue: "review" },
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.config;
}

const toWorld = [{ name: "world", when: {}, assign: { type: "pool", pool: "world" } }];
const route = (cfg: RoutingConfig, iso: string, counters = new MemoryCounters()) =>
  routeLead({}, cfg, { counters, now: new Date(iso) });

describe("a pool and its members' working hours", () => {
  it("skips members outside their hours while someone is inside theirs", async () => {
    // Friday 17:40 UTC: 19:40 in Berlin, 10:40 in Los Angeles, 02:40 Saturday in Tokyo.
    const decision = await route(config(toWorld), "2026-10-02T17:40:00Z");
    expect(decision).toMatchObject({ ownerId: "lena", pool: "world" });
    expect(decision.availableFrom).toBeUndefined();
    expect(decision.explanation.slice(1)).toEqual([
      "pool world: owner maria is outside their hours (Europe/Berlin Fri 19:40) — skipped",
      "pool world: owner kenji is outside their hours (Asia/Tokyo Sat 02:40) — skipped",
      "assigned to pool world → lena (weighted round-robin, slot 1 of 1)",
    ]);
  });

  it("gives a weekend lead to whoever starts soonest, and says when the lead's clock starts", async () => {
    // Saturday 12:00 UTC: Tokyo starts first on Monday (00:30 UTC), then Berlin (07:00), then LA (15:00).
    const decision = await route(config(toWorld), "2026-10-03T12:00:00Z");
    expect(decision).toMatchObject({ ownerId: "kenji", availableFrom: "2026-10-05T00:30:00.000Z" });
    expect(toRoute(decision).availableFrom).toBe("2026-10-05T00:30:00.000Z");
    expect(decision.explanation.slice(1)).toEqual([
      "pool world: nobody is inside their hours — kenji starts soonest",
      "pool world: owner maria is outside their hours (Europe/Berlin Sat 14:00) and starts later (Europe/Berlin Mon 09:00) — skipped",
      "pool world: owner lena is outside their hours (America/Los_Angeles Sat 05:00) and starts later (America/Los_Angeles Mon 08:00) — skipped",
      "assigned to pool world → kenji (weighted round-robin, slot 1 of 1)",
      "owner kenji is outside their hours (Asia/Tokyo Sat 21:00): the lead waits for their hours to start Asia/Tokyo Mon 09:30 (2026-10-05T00:30:00.000Z)",
    ]);
  });

  it("plays the round-robin over everyone inside their hours", async () => {
    // Monday 08:00 UTC: Berlin 10:00 and Tokyo 17:00 are working; Los Angeles is asleep.
    const counters = new MemoryCounters();
    const cfg = config(toWorld);
    const owners = [];
    for (let i = 0; i < 4; i++) owners.push((await route(cfg, "2026-10-05T08:00:00Z", counters)).ownerId);
    expect(owners.sort()).toEqual(["kenji", "kenji", "maria", "maria"]);
  });

  it("counts an owner's away day in their own time zone", async () => {
    // Thursday 8 October 16:00 UTC is already Friday 9 October (kenji's away day) in Tokyo.
    const decision = await route(config(toWorld), "2026-10-08T16:00:00Z");
    expect(decision.explanation).toContain(
      "pool world: owner kenji is away 2026-10-09..2026-10-09 — skipped",
    );
  });
});

describe("a named owner outside their hours", () => {
  it("keeps the lead (the rule stands) and says when their hours start", async () => {
    const cfg = config([{ name: "dach", when: {}, assign: { type: "owner", owner: "maria" } }]);
    const decision = await route(cfg, "2026-10-02T17:40:00Z");
    expect(decision).toMatchObject({
      ruleName: "dach",
      ownerId: "maria",
      availableFrom: "2026-10-05T07:00:00.000Z",
    });
    expect(decision.explanation.at(-1)).toBe(
      "owner maria is outside their hours (Europe/Berlin Fri 19:40): the lead waits for their hours to start Europe/Berlin Mon 09:00 (2026-10-05T07:00:00.000Z)",
    );
  });

  it("an owner without hours is always inside them", async () => {
    const cfg = config([{ name: "r", when: {}, assign: { type: "owner", owner: "sam" } }]);
    const decision = await route(cfg, "2026-10-03T03:00:00Z");
    expect(decision.ownerId).toBe("sam");
    expect(decision.availableFrom).toBeUndefined();
  });
});

describe("daily caps on the owner's own day", () => {
  it("counts on the owner's local date, and a night lead on the day their hours start", async () => {
    const counters = new MemoryCounters();
    const cfg = config([
      { name: "dach", when: {}, assign: { type: "owner", owner: "maria" } },
      { name: "rest", when: {}, assign: { type: "owner", owner: "sam" } },
    ]);
    // Monday 5 October 23:30 UTC is Tuesday 01:30 in Berlin: the lead waits for Tuesday 09:00 and counts there.
    const night = await route(cfg, "2026-10-05T23:30:00Z", counters);
    expect(night.capCounted).toBe("cap:maria:2026-10-06");
    // Tuesday 10:00 Berlin: one more fills the cap of 2; the third goes on to the next rule.
    expect((await route(cfg, "2026-10-06T08:00:00Z", counters)).ownerId).toBe("maria");
    const third = await route(cfg, "2026-10-06T08:05:00Z", counters);
    expect(third.ownerId).toBe("sam");
    expect(third.explanation[1]).toBe("owner maria is at daily cap 2 — rule passed over");
    // Wednesday in Berlin (Tuesday 22:30 UTC is 00:30 there): a new day, though UTC is still on Tuesday.
    const wednesday = await route(cfg, "2026-10-06T22:30:00Z", counters);
    expect(wednesday).toMatchObject({ ownerId: "maria", capCounted: "cap:maria:2026-10-07" });
  });
});
