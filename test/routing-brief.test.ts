import { describe, expect, it } from "vitest";
import { parseRoutingConfig } from "../config/routing.ts";
import { checkConditions, conditionsHold } from "../domain/routing/conditions.ts";
import { type RoutingFacts, routeLead } from "../domain/routing/engine.ts";
import { normalizeFacts } from "../domain/routing/facts.ts";
import type { Conditions, RoutingConfig } from "../domain/routing/schema.ts";
import { MemoryCounters } from "../store/memory.ts";
import { foldUnmatched } from "./helpers/explanation.ts";
import { random } from "./helpers/random.ts";

const NOW = new Date("2026-06-15T12:00:00Z");

const COUNTRIES = ["US", "CA", "DE", "FR", "JP"];
const REGIONS = ["NA", "EMEA", "APAC"] as const;
const STATES = ["CA", "NY", "TX", "ON"];
const INDUSTRIES = ["software", "retail", "government"];
const TIERS = ["hot", "warm", "cold"] as const;
const SOURCES = ["web", "partner", "event"];

function cases(seed: number) {
  const next = random(seed);
  const maybe = <T>(value: () => T): T | undefined => (next() < 0.5 ? value() : undefined);
  const some = <T>(list: readonly T[]): T[] => list.filter(() => next() < 0.5).slice(0, 3);
  const one = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const range = () => {
    const min = maybe(() => Math.floor(next() * 2000));
    const max = maybe(() => (min ?? 0) + Math.floor(next() * 5000));
    return min === undefined && max === undefined ? { min: 100 } : { min, max };
  };
  const when = (): Conditions => {
    const c: Record<string, unknown> = {};
    const add = (key: string, value: unknown) => {
      if (value !== undefined && !(Array.isArray(value) && value.length === 0)) c[key] = value;
    };
    add(
      "country",
      maybe(() => some(COUNTRIES)),
    );
    add(
      "region",
      maybe(() => some(REGIONS)),
    );
    add(
      "state",
      maybe(() => some(STATES)),
    );
    add(
      "postalPrefix",
      maybe(() => some(["10", "94", "M5", "1"])),
    );
    add(
      "industry",
      maybe(() => some(INDUSTRIES)),
    );
    add("employees", maybe(range));
    add("revenue", maybe(range));
    add(
      "tier",
      maybe(() => some(TIERS)),
    );
    add(
      "source",
      maybe(() => some(SOURCES)),
    );
    add(
      "existingAccount",
      maybe(() => next() < 0.5),
    );
    return c as Conditions;
  };
  const facts = (): RoutingFacts => ({
    country: maybe(() => one(COUNTRIES)),
    region: maybe(() => one(REGIONS)),
    state: maybe(() => one(STATES)),
    postalCode: maybe(() => one(["10001", "94105", "M5V 2T6", "1"])),
    industry: maybe(() => one(INDUSTRIES)),
    employees: maybe(() => (next() < 0.1 ? Number.NaN : Math.floor(next() * 6000))),
    revenue: maybe(() => Math.floor(next() * 6000)),
    tier: maybe(() => one(TIERS)),
    source: maybe(() => one(SOURCES)),
    existingAccount: maybe(() => next() < 0.5),
  });
  return { when, facts };
}

function config(rules: unknown[]): RoutingConfig {
  const parsed = parseRoutingConfig({
    owners: [
      { id: "ann", name: "Ann", email: "ann@example.com" },
      { id: "bob", name: "Bob", email: "bob@example.com", active: false },
      { id: "cy", name: "Cy", email: "cy@example.com" },
    ],
    pools: [
      {
        id: "team",
        members: [
          { owner: "ann", weight: 2 },
          { owner: "cy", weight: 1 },
        ],
      },
    ],
    queues: [{ id: "review", name: "Review", path: "review" }],
    rules,
    fallback: { type: "queue", queue: "review" },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.config;
}

describe("conditionsHold", () => {
  it("agrees with checkConditions on every random rule and lead", () => {
    const { when, facts } = cases(3);
    let held = 0;
    for (let i = 0; i < 5000; i++) {
      const w = when();
      const f = normalizeFacts(facts());
      const expected = checkConditions(w, f).every((c) => c.holds);
      expect(conditionsHold(w, f), JSON.stringify({ w, f })).toBe(expected);
      if (expected) held++;
    }
    // Both outcomes are exercised.
    expect(held).toBeGreaterThan(50);
    expect(held).toBeLessThan(4900);
  });
});

describe("routeLead without explain", () => {
  it("routes as with explain, folding each run of unmatched rules into a count", async () => {
    const { when, facts } = cases(11);
    const owners = ["ann", "bob", "cy"];
    const next = random(5);
    for (let round = 0; round < 40; round++) {
      const rules = Array.from({ length: 30 }, (_, i) => ({
        name: `r${i}`,
        when: when(),
        assign: next() < 0.2 ? { type: "pool", pool: "team" } : { type: "owner", owner: owners[i % 3] },
      }));
      const cfg = config(rules);
      for (let lead = 0; lead < 10; lead++) {
        const f = facts();
        // Separate counters that move in step, so round-robin picks the same member both ways.
        const full = await routeLead(f, cfg, { counters: fullCounters, now: NOW });
        const brief = await routeLead(f, cfg, { counters: briefCounters, now: NOW, explain: false });
        expect({ ...brief, explanation: [] }).toEqual({ ...full, explanation: [] });
        expect(brief.explanation).toEqual(foldUnmatched(full.explanation));
      }
    }
  });

  it("keeps the rules passed over for availability and counts the rest", async () => {
    const cfg = config([
      { name: "fr", when: { country: ["FR"] }, assign: { type: "owner", owner: "ann" } },
      { name: "de", when: { country: ["DE"] }, assign: { type: "owner", owner: "ann" } },
      { name: "any-bob", when: {}, assign: { type: "owner", owner: "bob" } },
      { name: "jp", when: { country: ["JP"] }, assign: { type: "owner", owner: "ann" } },
      { name: "any-cy", when: {}, assign: { type: "owner", owner: "cy" } },
    ]);
    const decision = await routeLead({ country: "US" }, cfg, {
      counters: new MemoryCounters(),
      now: NOW,
      explain: false,
    });
    expect(decision.ownerId).toBe("cy");
    expect(decision.explanation).toEqual([
      "rules 1–2: no — their conditions did not hold (2 rules)",
      'rule 3 "any-bob": yes — no conditions',
      "owner bob is inactive — rule passed over",
      "rule 4: no — its conditions did not hold",
      'rule 5 "any-cy": yes — no conditions',
      "assigned to owner cy",
    ]);
    const onlyFr = config([
      { name: "fr", when: { country: ["FR"] }, assign: { type: "owner", owner: "ann" } },
    ]);
    const fallback = await routeLead({ country: "US" }, onlyFr, {
      counters: new MemoryCounters(),
      now: NOW,
      explain: false,
    });
    expect(fallback.explanation).toEqual([
      "rule 1: no — its conditions did not hold",
      "no rule matched — fallback",
      'assigned to queue review "Review" (path review)',
    ]);
  });
});

const fullCounters = new MemoryCounters();
const briefCounters = new MemoryCounters();
