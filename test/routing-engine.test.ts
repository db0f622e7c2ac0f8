import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseRoutingConfig } from "../config/routing.ts";
import {
  assignOutsideRules,
  factsFromState,
  type RoutingFacts,
  releaseDecision,
  routeLead,
  toRoute,
} from "../domain/routing/engine.ts";
import type { RoutingConfig } from "../domain/routing/schema.ts";
import type { Counters } from "../domain/types.ts";
import type { LeadState } from "../graph/state.ts";
import { MemoryCounters } from "../store/memory.ts";

const NOW = new Date("2026-06-15T12:00:00Z");

/** Records every increment (capped or not) so tests can prove what moved and with which ttl. */
class SpyCounters implements Counters {
  readonly inner = new MemoryCounters();
  readonly increments: Array<{ key: string; ttlSeconds: number | undefined; limit?: number }> = [];
  increment(key: string, ttlSeconds?: number) {
    this.increments.push({ key, ttlSeconds });
    return this.inner.increment(key);
  }
  incrementBelow(key: string, limit: number, ttlSeconds?: number) {
    this.increments.push({ key, ttlSeconds, limit });
    return this.inner.incrementBelow(key, limit);
  }
  decrement(key: string) {
    return this.inner.decrement(key);
  }
  get(key: string) {
    return this.inner.get(key);
  }
}

function config(rules: unknown[], fallback: unknown = { type: "queue", queue: "review" }): RoutingConfig {
  const result = parseRoutingConfig({
    owners: [
      { id: "ann", name: "Ann", email: "ann@example.com", crmOwnerId: "1" },
      { id: "bob", name: "Bob", email: "bob@example.com", crmOwnerId: "2" },
      {
        id: "cat",
        name: "Cat",
        email: "cat@example.com",
        crmOwnerId: "3",
        away: [{ from: "2026-06-10", to: "2026-06-20" }],
      },
      { id: "dan", name: "Dan", email: "dan@example.com", crmOwnerId: "4", active: false },
      { id: "eve", name: "Eve", email: "eve@example.com", crmOwnerId: "5", dailyCap: 2 },
    ],
    pools: [
      {
        id: "team",
        members: [
          { owner: "ann", weight: 3 },
          { owner: "bob", weight: 2 },
          { owner: "cat", weight: 1 },
        ],
      },
      {
        id: "capped",
        members: [
          { owner: "eve", weight: 1 },
          { owner: "ann", weight: 1 },
        ],
      },
      {
        id: "busy",
        members: [
          { owner: "cat", weight: 1 },
          { owner: "dan", weight: 1 },
        ],
      },
    ],
    queues: [
      { id: "nurture", name: "Nurture", path: "nurture" },
      { id: "review", name: "Review", path: "review", channel: "#review" },
    ],
    rules,
    fallback,
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.config;
}

const rule = (name: string, when: unknown, assign: unknown) => ({ name, when, assign });
const toAnn = { type: "owner", owner: "ann" };

// biome-ignore lint/suspicious/noExplicitAny: edits reach deep into the raw JSON.
function shipped(edit: (json: any) => void = () => {}): RoutingConfig {
  const json = JSON.parse(readFileSync(new URL("../config/routing.json", import.meta.url), "utf8"));
  edit(json);
  const result = parseRoutingConfig(json);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.config;
}

describe("conditions", () => {
  const cases: Array<
    [kind: string, when: unknown, match: RoutingFacts, miss: RoutingFacts, missText: string]
  > = [
    [
      "country (alias in config and facts)",
      { country: ["UK"] },
      { country: "uk" },
      { country: "IE" },
      "country IE not in [GB]",
    ],
    ["region", { region: ["EMEA"] }, { region: "EMEA" }, { region: "APAC" }, "region APAC not in [EMEA]"],
    ["state (upper-cased)", { state: ["ca"] }, { state: "Ca" }, { state: "NY" }, "state NY not in [CA]"],
    [
      "postal prefix (spaces removed)",
      { postalPrefix: ["SW1A", "100"] },
      { postalCode: "sw1a 1aa" },
      { postalCode: "94105" },
      "postal code 94105 starts with none of [SW1A, 100]",
    ],
    [
      "industry (any case)",
      { industry: ["Software"] },
      { industry: "SOFTWARE" },
      { industry: "retail" },
      "industry retail not in [software]",
    ],
    [
      "employees (inclusive)",
      { employees: { min: 50, max: 999 } },
      { employees: 50 },
      { employees: 49 },
      "employees 49 not in 50..999",
    ],
    [
      "revenue",
      { revenue: { min: 500_000_000 } },
      { revenue: 500_000_000 },
      { revenue: 1 },
      "revenue 1 not in ≥500000000",
    ],
    ["tier", { tier: ["hot", "warm"] }, { tier: "warm" }, { tier: "cold" }, "tier cold not in [hot, warm]"],
    [
      "source (any case)",
      { source: ["Partner"] },
      { source: "PARTNER" },
      { source: "web" },
      "source web not in [partner]",
    ],
    [
      "existing account",
      { existingAccount: false },
      { existingAccount: false },
      { existingAccount: true },
      "existing account yes, needs no",
    ],
    [
      "existing contact",
      { existingContact: true },
      { existingContact: true },
      { existingContact: false },
      "existing contact no, needs yes",
    ],
    [
      "returning lead",
      { returning: true },
      { returning: true },
      { returning: false },
      "returning lead no, needs yes",
    ],
  ];

  it.each(cases)(
    "%s: matches, misses with its reason, and fails when unknown",
    async (_kind, when, match, miss, missText) => {
      const cfg = config([rule("r", when, toAnn)]);
      const counters = new MemoryCounters();
      const hit = await routeLead(match, cfg, { counters, now: NOW });
      expect(hit).toMatchObject({ ruleName: "r", kind: "owner", ownerId: "ann", path: "qualified" });
      expect(hit.explanation[0]).toMatch(/^rule 1 "r": yes — /);

      const missed = await routeLead(miss, cfg, { counters, now: NOW });
      expect(missed.ruleName).toBe("fallback");
      expect(missed.explanation[0]).toBe(`rule 1 "r": no — ${missText}`);

      const unknown = await routeLead({}, cfg, { counters, now: NOW });
      expect(unknown.ruleName).toBe("fallback");
      expect(unknown.explanation[0]).toMatch(/^rule 1 "r": no — .* unknown$/);
    },
  );

  it("employees bounds are inclusive at the top too", async () => {
    const cfg = config([rule("r", { employees: { min: 50, max: 999 } }, toAnn)]);
    const counters = new MemoryCounters();
    expect((await routeLead({ employees: 999 }, cfg, { counters, now: NOW })).ruleName).toBe("r");
    expect((await routeLead({ employees: 1000 }, cfg, { counters, now: NOW })).ruleName).toBe("fallback");
  });

  it("needs every condition to hold and lists each one that does not", async () => {
    const cfg = config([
      rule("big-us", { country: ["US"], employees: { min: 1000 }, industry: ["software"] }, toAnn),
    ]);
    const decision = await routeLead({ country: "US", employees: 500 }, cfg, {
      counters: new MemoryCounters(),
      now: NOW,
    });
    expect(decision.ruleName).toBe("fallback");
    expect(decision.explanation[0]).toBe(
      'rule 1 "big-us": no — industry unknown; employees 500 not in ≥1000',
    );
  });

  it("first matching rule wins and later rules are not tried", async () => {
    const cfg = config([
      rule("no", { country: ["DE"] }, { type: "owner", owner: "bob" }),
      rule("first", { country: ["US"] }, toAnn),
      rule("second", { country: ["US"] }, { type: "owner", owner: "bob" }),
    ]);
    const decision = await routeLead({ country: "US" }, cfg, { counters: new MemoryCounters(), now: NOW });
    expect(decision).toMatchObject({ ruleName: "first", ownerId: "ann" });
    expect(decision.explanation).toEqual([
      'rule 1 "no": no — country US not in [DE]',
      'rule 2 "first": yes — country US in [US]',
      "assigned to owner ann",
    ]);
  });

  it("a rule without conditions matches every lead", async () => {
    const decision = await routeLead({}, config([rule("all", {}, toAnn)]), {
      counters: new MemoryCounters(),
      now: NOW,
    });
    expect(decision.explanation[0]).toBe('rule 1 "all": yes — no conditions');
  });
});

describe("assignments", () => {
  const any = {};
  const then = rule("next", {}, { type: "owner", owner: "bob" });

  it("owner: assigns and counts the lead against the owner's day with a 2-day ttl", async () => {
    const counters = new SpyCounters();
    const decision = await routeLead(any, config([rule("r", any, toAnn)]), { counters, now: NOW });
    expect(decision).toMatchObject({
      kind: "owner",
      ownerId: "ann",
      path: "qualified",
      owner: { name: "Ann" },
    });
    expect(counters.increments).toEqual([{ key: "cap:ann:2026-06-15", ttlSeconds: 172_800 }]);
  });

  it.each([
    ["away", "cat", "owner cat is away 2026-06-10..2026-06-20 — rule passed over"],
    ["inactive", "dan", "owner dan is inactive — rule passed over"],
  ])("owner %s: the rule is passed over and the next rule tried", async (_why, owner, line) => {
    const counters = new SpyCounters();
    const decision = await routeLead(any, config([rule("r", any, { type: "owner", owner }), then]), {
      counters,
      now: NOW,
    });
    expect(decision).toMatchObject({ ruleName: "next", ownerId: "bob" });
    expect(decision.explanation).toEqual([
      'rule 1 "r": yes — no conditions',
      line,
      'rule 2 "next": yes — no conditions',
      "assigned to owner bob",
    ]);
    expect(counters.increments.map((i) => i.key)).toEqual(["cap:bob:2026-06-15"]);
  });

  it("away ranges are inclusive UTC dates", async () => {
    const cfg = config([rule("r", any, { type: "owner", owner: "cat" }), then]);
    const counters = new MemoryCounters();
    const at = async (iso: string) => (await routeLead(any, cfg, { counters, now: new Date(iso) })).ownerId;
    expect(await at("2026-06-09T23:59:59Z")).toBe("cat");
    expect(await at("2026-06-10T00:00:00Z")).toBe("bob");
    expect(await at("2026-06-20T23:59:59Z")).toBe("bob");
    expect(await at("2026-06-21T00:00:00Z")).toBe("cat");
  });

  it("owner at daily cap: passed over until the next UTC day", async () => {
    const cfg = config([rule("r", any, { type: "owner", owner: "eve" }), then]);
    const counters = new MemoryCounters();
    const owners = [];
    for (let i = 0; i < 3; i++) owners.push((await routeLead(any, cfg, { counters, now: NOW })).ownerId);
    expect(owners).toEqual(["eve", "eve", "bob"]);
    const capped = await routeLead(any, cfg, { counters, now: NOW });
    expect(capped.explanation[1]).toBe("owner eve is at daily cap 2 — rule passed over");
    const tomorrow = await routeLead(any, cfg, { counters, now: new Date("2026-06-16T00:00:01Z") });
    expect(tomorrow.ownerId).toBe("eve");
  });

  it("pool: weighted round-robin over available members, skipping and naming the away one", async () => {
    const counters = new SpyCounters();
    const cfg = config([rule("r", any, { type: "pool", pool: "team" })]);
    const picks = [];
    for (let i = 0; i < 5; i++) picks.push(await routeLead(any, cfg, { counters, now: NOW }));
    expect(picks.map((d) => d.ownerId)).toEqual(["ann", "bob", "ann", "bob", "ann"]);
    expect(picks[0]).toMatchObject({ kind: "pool", pool: "team", path: "qualified" });
    expect(picks[3]?.explanation).toEqual([
      'rule 1 "r": yes — no conditions',
      "pool team: owner cat is away 2026-06-10..2026-06-20 — skipped",
      "assigned to pool team → bob (weighted round-robin, slot 4 of 5)",
    ]);
    expect(await counters.get("rr:team")).toBe(5);
  });

  it("pool with nobody available is passed over without moving its counter", async () => {
    const counters = new SpyCounters();
    const decision = await routeLead(any, config([rule("r", any, { type: "pool", pool: "busy" }), then]), {
      counters,
      now: NOW,
    });
    expect(decision.ownerId).toBe("bob");
    expect(decision.explanation.slice(1, 4)).toEqual([
      "pool busy: owner cat is away 2026-06-10..2026-06-20 — skipped",
      "pool busy: owner dan is inactive — skipped",
      "pool busy has nobody available — rule passed over",
    ]);
    expect(counters.increments.map((i) => i.key)).toEqual(["cap:bob:2026-06-15"]);
  });

  it("account: maps the CRM owner id to the owner with that crmOwnerId", async () => {
    const counters = new SpyCounters();
    const decision = await routeLead(any, config([rule("acct", any, { type: "account" })]), {
      counters,
      now: NOW,
      accountOwnerCrmId: "2",
    });
    expect(decision).toMatchObject({ kind: "account", ownerId: "bob", path: "qualified" });
    expect(decision.explanation[1]).toBe("assigned to account owner bob (CRM owner 2)");
    expect(counters.increments.map((i) => i.key)).toEqual(["cap:bob:2026-06-15"]);
  });

  it.each([
    ["unknown CRM owner", "999", "account owner (CRM owner 999) is not in routing.json — rule passed over"],
    ["away owner", "3", "owner cat is away 2026-06-10..2026-06-20 — rule passed over"],
    ["inactive owner", "4", "owner dan is inactive — rule passed over"],
    ["no CRM owner", undefined, "no account owner known — rule passed over"],
  ])("account with %s is passed over", async (_why, accountOwnerCrmId, line) => {
    const cfg = config([rule("acct", any, { type: "account" }), then]);
    const decision = await routeLead(any, cfg, {
      counters: new MemoryCounters(),
      now: NOW,
      accountOwnerCrmId,
    });
    expect(decision).toMatchObject({ ruleName: "next", ownerId: "bob" });
    expect(decision.explanation[1]).toBe(line);
  });

  it("account owner at daily cap still gets their account (README: only unknown, inactive or away pass over)", async () => {
    const counters = new MemoryCounters();
    await counters.increment("cap:eve:2026-06-15");
    await counters.increment("cap:eve:2026-06-15");
    const cfg = config([rule("acct", any, { type: "account" }), then]);
    const decision = await routeLead(any, cfg, { counters, now: NOW, accountOwnerCrmId: "5" });
    expect(decision.ownerId).toBe("eve");
  });

  it.each([
    ["nurture", "nurture"],
    ["review", "review"],
  ] as const)("queue %s: its path is the decision's path and no owner is counted", async (queue, path) => {
    const counters = new SpyCounters();
    const decision = await routeLead(any, config([rule("q", any, { type: "queue", queue })]), {
      counters,
      now: NOW,
    });
    expect(decision).toMatchObject({ kind: "queue", queue, path, queueConfig: { id: queue } });
    expect(decision.ownerId).toBeUndefined();
    expect(counters.increments).toEqual([]);
  });

  it("fallback: takes the lead when no rule matched, on the review path", async () => {
    const decision = await routeLead({ country: "FR" }, config([rule("us", { country: ["US"] }, toAnn)]), {
      counters: new MemoryCounters(),
      now: NOW,
    });
    expect(toRoute(decision)).toEqual({
      queue: "review",
      ruleName: "fallback",
      kind: "fallback",
      explanation: [
        'rule 1 "us": no — country FR not in [US]',
        "no rule matched — fallback",
        'assigned to queue review "Review" (path review)',
      ],
    });
    expect(decision.path).toBe("review");
  });

  it("fallback also takes leads whose matching rules were all passed over", async () => {
    const cfg = config([rule("r", any, { type: "owner", owner: "dan" })], { type: "pool", pool: "team" });
    const decision = await routeLead(any, cfg, { counters: new MemoryCounters(), now: NOW });
    expect(decision).toMatchObject({
      kind: "fallback",
      ruleName: "fallback",
      pool: "team",
      ownerId: "ann",
      path: "review",
    });
  });

  it("an unavailable fallback owner leaves the lead without an owner, and says so", async () => {
    const decision = await routeLead(any, config([], { type: "owner", owner: "dan" }), {
      counters: new MemoryCounters(),
      now: NOW,
    });
    expect(decision.ownerId).toBeUndefined();
    expect(decision.explanation.slice(-2)).toEqual([
      "owner dan is inactive",
      "fallback unavailable — the lead has no owner and waits for review",
    ]);
  });
});

describe("contact assignment", () => {
  const sticky = rule("sticky", {}, { type: "contact" });
  const then = rule("next", {}, { type: "owner", owner: "ann" });
  const previous = { ownerId: "bob", leadId: "lead-0", routedAt: "2026-06-01T10:00:00.000Z" };

  it("takes the CRM contact's owner first, then the returning owner, counting no round-robin turn", async () => {
    const counters = new SpyCounters();
    const cfg = config([sticky, then]);
    const byCrm = await routeLead({}, cfg, { counters, now: NOW, contactOwnerCrmId: "5", previous });
    expect(byCrm).toMatchObject({ kind: "contact", ownerId: "eve", previous });
    expect(byCrm.explanation[1]).toBe("existing contact: owned by eve in the CRM (CRM owner 5), same owner");
    const byMemory = await routeLead({}, cfg, { counters, now: NOW, previous });
    expect(byMemory.ownerId).toBe("bob");
    expect(byMemory.explanation[1]).toBe(
      "returning lead: routed to bob on 2026-06-01 (lead lead-0), same owner",
    );
    // Counted on the owner's day, never refused for the cap (eve's is 2), and no pool turn taken.
    expect(counters.increments.map((i) => i.key)).toEqual(["cap:eve:2026-06-15", "cap:bob:2026-06-15"]);
  });

  it("is passed over when nobody is known, or whoever is known cannot take it", async () => {
    const cfg = config([sticky, then]);
    const none = await routeLead({}, cfg, { counters: new MemoryCounters(), now: NOW });
    expect(none.explanation.slice(1, 3)).toEqual([
      "no contact owner known — rule passed over",
      'rule 2 "next": yes — no conditions',
    ]);
    const gone = await routeLead({}, cfg, {
      counters: new MemoryCounters(),
      now: NOW,
      contactOwnerCrmId: "999",
      previous: { ...previous, ownerId: "dan" },
    });
    expect(gone).toMatchObject({ ruleName: "next", ownerId: "ann" });
    expect(gone.explanation.slice(1, 3)).toEqual([
      "contact owner (CRM owner 999) is not in routing.json",
      "owner dan is inactive — rule passed over",
    ]);
  });

  it("cannot be the fallback, and the returning window is whole days from 1 to 3650", () => {
    const base = { owners: [], queues: [{ id: "q", name: "Q", path: "review" }], rules: [] };
    const bad = parseRoutingConfig({ ...base, fallback: { type: "contact" }, returning: { windowDays: 0 } });
    expect(bad.ok ? [] : bad.errors.map((e) => e.path)).toEqual(
      expect.arrayContaining(["$.fallback.type", "$.returning.windowDays"]),
    );
    const ok = parseRoutingConfig({ ...base, fallback: { type: "queue", queue: "q" } });
    expect(ok.ok && ok.config.returning).toEqual({ windowDays: 90 });
  });
});

describe("daily caps under concurrency", () => {
  const any = {};
  const then = rule("next", {}, { type: "owner", owner: "bob" });

  it("takes a capped owner's slot atomically, with the cap as the limit", async () => {
    const counters = new SpyCounters();
    await routeLead(any, config([rule("r", any, { type: "owner", owner: "eve" })]), { counters, now: NOW });
    expect(counters.increments).toEqual([{ key: "cap:eve:2026-06-15", ttlSeconds: 172_800, limit: 2 }]);
  });

  it("20 leads routed at once never push an owner past the cap; the rest go to the next rule", async () => {
    const counters = new MemoryCounters();
    const cfg = config([rule("r", any, { type: "owner", owner: "eve" }), then]);
    const decisions = await Promise.all(
      Array.from({ length: 20 }, () => routeLead(any, cfg, { counters, now: NOW })),
    );
    expect(decisions.filter((d) => d.ownerId === "eve")).toHaveLength(2);
    expect(decisions.filter((d) => d.ownerId === "bob")).toHaveLength(18);
    expect(await counters.get("cap:eve:2026-06-15")).toBe(2);
    const lost = decisions.find((d) => d.ownerId === "bob");
    expect(lost?.explanation[1]).toBe("owner eve is at daily cap 2 — rule passed over");
  });

  it("a pool member who lost the last slot meanwhile is skipped and the same turn goes to another", async () => {
    const cfg = config([rule("r", any, { type: "pool", pool: "capped" })]);
    const counters = new MemoryCounters();
    await counters.increment("cap:eve:2026-06-15");
    // Another worker takes eve's last slot between this lead's read and its reservation.
    const racing: Counters = {
      get: (key) => counters.get(key),
      increment: (key) => counters.increment(key),
      decrement: (key) => counters.decrement(key),
      incrementBelow: async (key, limit) => {
        if (key === "cap:eve:2026-06-15") await counters.increment(key);
        return counters.incrementBelow(key, limit);
      },
    };
    const decision = await routeLead(any, cfg, { counters: racing, now: NOW });
    expect(decision).toMatchObject({ ownerId: "ann", pool: "capped" });
    expect(decision.explanation.slice(1)).toEqual([
      "pool capped: owner eve is at daily cap 2 — skipped",
      "assigned to pool capped → ann (weighted round-robin, slot 1 of 1)",
    ]);
    expect(await counters.get("rr:capped")).toBe(1);
    expect(await counters.get("cap:eve:2026-06-15")).toBe(2);
  });

  it("releaseDecision gives the slot back so the owner can take another lead", async () => {
    const counters = new MemoryCounters();
    const cfg = config([rule("r", any, { type: "owner", owner: "eve" }), then]);
    const first = await routeLead(any, cfg, { counters, now: NOW });
    await routeLead(any, cfg, { counters, now: NOW });
    expect((await routeLead(any, cfg, { counters, now: NOW })).ownerId).toBe("bob");
    expect(first.capCounted).toBe("cap:eve:2026-06-15");
    await releaseDecision(first, counters);
    expect((await routeLead(any, cfg, { counters, now: NOW })).ownerId).toBe("eve");
  });

  it("a dry run takes no slot and says it would", async () => {
    const counters = new SpyCounters();
    const cfg = config([rule("r", any, { type: "owner", owner: "eve" })]);
    const preview = await routeLead(any, cfg, { counters, now: NOW, dryRun: true });
    expect(preview.ownerId).toBe("eve");
    expect(preview.capCounted).toBeUndefined();
    expect(counters.increments).toEqual([]);
  });
});

describe("re-routing a lead someone already had", () => {
  const any = {};

  it("exclude: an owner who had the lead is passed over like an unavailable one", async () => {
    const counters = new SpyCounters();
    const cfg = config([rule("r", any, toAnn), rule("next", any, { type: "owner", owner: "bob" })]);
    const decision = await routeLead(any, cfg, { counters, now: NOW, exclude: ["ann"] });
    expect(decision).toMatchObject({ ruleName: "next", ownerId: "bob" });
    expect(decision.explanation).toContain("owner ann already had this lead — rule passed over");
  });

  it("the next available pool member who has not had the lead, taking a round-robin turn", async () => {
    const counters = new SpyCounters();
    const cfg = config([]);
    const next = await assignOutsideRules(
      { type: "pool", pool: "team" },
      cfg,
      { counters, now: NOW, exclude: ["ann"] },
      "r",
    );
    expect(next).toMatchObject({ ok: true, decision: { ownerId: "bob", pool: "team", kind: "pool" } });
    expect(next.ok && next.decision.explanation).toEqual([
      "pool team: owner ann already had this lead — skipped",
      "pool team: owner cat is away 2026-06-10..2026-06-20 — skipped",
      "assigned to pool team → bob (weighted round-robin, slot 1 of 2)",
    ]);
    expect(counters.increments.map((i) => i.key)).toEqual(["rr:team", "cap:bob:2026-06-15"]);

    const nobody = await assignOutsideRules(
      { type: "pool", pool: "team" },
      cfg,
      { counters, now: NOW, exclude: ["ann", "bob"] },
      "r",
    );
    expect(nobody).toEqual({
      ok: false,
      explanation: [
        "pool team: owner ann already had this lead — skipped",
        "pool team: owner bob already had this lead — skipped",
        "pool team: owner cat is away 2026-06-10..2026-06-20 — skipped",
        "pool team has nobody available",
      ],
    });
  });
});

describe("dry run", () => {
  it("predicts the next round-robin pick and moves no counter", async () => {
    const counters = new SpyCounters();
    const cfg = config([rule("r", {}, { type: "pool", pool: "team" })]);
    const preview = await routeLead({}, cfg, { counters, now: NOW, dryRun: true });
    expect(counters.increments).toEqual([]);
    expect(preview.explanation.at(-1)).toBe("dry run: no counter moved");

    const real = await routeLead({}, cfg, { counters, now: NOW });
    expect(real.ownerId).toBe(preview.ownerId);
    expect(counters.increments).toHaveLength(2);

    const next = await routeLead({}, cfg, { counters, now: NOW, dryRun: true });
    expect(next.ownerId).toBe("bob");
    expect(counters.increments).toHaveLength(2);
  });
});

describe("the shipped routing.json", () => {
  it("explains every rule tried, then the assignment", async () => {
    const facts: RoutingFacts = {
      country: "US",
      region: "NA",
      state: "CA",
      postalCode: "94105",
      employees: 480,
      tier: "warm",
      source: "web",
      industry: "software",
      existingAccount: false,
      existingContact: false,
      returning: false,
    };
    const decision = await routeLead(facts, shipped(), { counters: new MemoryCounters(), now: NOW });
    expect(decision.explanation).toEqual([
      'rule 1 "cold-to-nurture": no — tier warm not in [cold]',
      'rule 2 "existing-contact": no — existing contact no, needs yes',
      'rule 3 "returning-lead": no — returning lead no, needs yes',
      'rule 4 "existing-account": no — existing account no, needs yes',
      'rule 5 "partner-referrals": no — source web not in [partner]',
      'rule 6 "public-sector": no — industry software not in [government, education]',
      'rule 7 "na-enterprise": no — employees 480 not in ≥1000',
      'rule 8 "na-enterprise-by-revenue": no — revenue unknown',
      'rule 9 "smb": no — employees 480 not in ≤49',
      'rule 10 "nyc-metro": no — postal code 94105 starts with none of [100, 101, 102, 103, 104, 112]',
      'rule 11 "na-west": yes — country US in [US]; state CA in [AK, AZ, CA, CO, HI, ID, MT, NM, NV, OR, UT, WA, WY]',
      "assigned to owner ethan.brooks",
      "owner ethan.brooks is outside their hours (America/Los_Angeles Mon 05:00): the lead waits for their hours to start America/Los_Angeles Mon 08:00 (2026-06-15T15:00:00.000Z)",
    ]);
  });

  it("skips sofia.reyes in the NA enterprise pool over her holiday", async () => {
    const counters = new MemoryCounters();
    const facts: RoutingFacts = { country: "US", employees: 5000, tier: "hot", existingAccount: false };
    const owners = new Set<string | undefined>();
    for (let i = 0; i < 10; i++) {
      const decision = await routeLead(facts, shipped(), { counters, now: new Date("2026-12-25T09:00:00Z") });
      expect(decision.explanation).toContain(
        "pool na-enterprise: owner sofia.reyes is away 2026-12-21..2027-01-04 — skipped",
      );
      owners.add(decision.ownerId);
    }
    expect([...owners].sort()).toEqual(["liam.oconnor", "maya.patel"]);
  });

  it("passes over an away DACH owner to the EMEA pool", async () => {
    const cfg = shipped((json) => {
      json.owners.find((o: { id: string }) => o.id === "jonas.weber").away = [
        { from: "2026-12-20", to: "2027-01-08" },
      ];
    });
    const facts: RoutingFacts = {
      country: "AT",
      region: "EMEA",
      employees: 300,
      tier: "hot",
      existingAccount: false,
    };
    const decision = await routeLead(facts, cfg, {
      counters: new MemoryCounters(),
      now: new Date("2027-01-05T10:00:00Z"),
    });
    expect(decision).toMatchObject({ ruleName: "rest-of-emea", pool: "emea", ownerId: "camille.martin" });
    expect(decision.explanation).toContain(
      "owner jonas.weber is away 2026-12-20..2027-01-08 — rule passed over",
    );
  });

  it("sends cold leads to nurture before any other rule", async () => {
    const decision = await routeLead({ tier: "cold", existingAccount: true }, shipped(), {
      counters: new MemoryCounters(),
      now: NOW,
      accountOwnerCrmId: "70009",
    });
    expect(decision).toMatchObject({ ruleName: "cold-to-nurture", queue: "nurture", path: "nurture" });
  });
});

describe("factsFromState", () => {
  const lead = { email: "a@acme.com", emailDomain: "acme.com", source: "web", utm: {} };
  const enrichment = (values: Record<string, unknown>) => ({ values, provenance: {} });

  it("takes the lead's country and region over the company's", () => {
    const state = {
      lead: { ...lead, country: "GB", region: "EMEA" as const, state: "ny", postalCode: "SW1A 1AA" },
      enrichment: enrichment({ country: "US", industry: "Software", employees: 120, revenue: 5e6 }),
      score: { tier: "hot" } as LeadState["score"],
    };
    expect(factsFromState(state, { existingAccount: true })).toEqual({
      country: "GB",
      region: "EMEA",
      state: "ny",
      postalCode: "SW1A 1AA",
      industry: "Software",
      employees: 120,
      revenue: 5e6,
      tier: "hot",
      source: "web",
      existingAccount: true,
    });
  });

  it("falls back to the company HQ country and derives its region", () => {
    const facts = factsFromState({ lead, enrichment: enrichment({ country: "UK" }), score: undefined });
    expect(facts).toMatchObject({ country: "UK", region: "EMEA" });
    expect(factsFromState({ lead, enrichment: enrichment({ country: "BR" }), score: undefined }).region).toBe(
      "LATAM",
    );
  });

  it("uses an injected regionOf", () => {
    const facts = factsFromState(
      { lead, enrichment: enrichment({ country: "MX" }), score: undefined },
      { regionOf: () => "NA" },
    );
    expect(facts.region).toBe("NA");
  });

  it("leaves everything unknown when nothing is known", () => {
    const facts = factsFromState({ lead: undefined, enrichment: undefined, score: undefined });
    expect(Object.values(facts).filter((v) => v !== undefined)).toEqual([]);
  });
});
