import { describe, expect, it } from "vitest";
import { parseScoringConfig } from "../config/scoring.ts";
import { inGreyZone, scoreByRules, tierOf } from "../domain/scoring/rules.ts";
import { aLead, shippedScoring } from "./helpers/state.ts";

const config = shippedScoring();

describe("scoreByRules", () => {
  it("adds base, industry, band, seniority and region, each naming its field", () => {
    const result = scoreByRules(
      aLead(),
      { values: { industry: "software", employees: 480, seniority: "vp" }, provenance: {} },
      config,
    );
    // 10 + 20 (software) + 15 (200-999) + 16 (vp) + 10 (NA)
    expect(result.ruleScore).toBe(71);
    expect(result.tier).toBe("hot");
    expect(result.reasons.map((r) => [r.field, r.value, r.points])).toEqual([
      ["enrichment.industry", "software", 20],
      ["enrichment.employees", 480, 15],
      ["enrichment.seniority", "vp", 16],
      ["lead.region", "NA", 10],
    ]);
  });

  it("counts each signal once and applies free-mail and disposable penalties", () => {
    const lead = aLead({
      form: "Book a demo",
      message: "We have budget and want pricing and a quote",
      source: "event",
    });
    const result = scoreByRules(lead, { values: { freeMail: true }, provenance: {} }, config);
    // 10 + 10 (NA) - 20 (free) + 20 (demo) + 5 (event) + 5 (intent, once)
    expect(result.ruleScore).toBe(30);
    expect(result.reasons.filter((r) => r.field === "lead.message")).toHaveLength(1);
  });

  it("clamps to 0..100", () => {
    const low = scoreByRules(
      aLead({ country: undefined, region: undefined }),
      { values: { disposable: true, freeMail: true }, provenance: {} },
      config,
    );
    expect(low.ruleScore).toBe(0);
    const high = scoreByRules(
      aLead({ form: "demo pricing", source: "partner", message: "rfp" }),
      { values: { industry: "fintech", employees: 5000, seniority: "c-level" }, provenance: {} },
      config,
    );
    expect(high.ruleScore).toBe(100);
  });

  it("takes the region from the company's HQ country when the lead gave none", () => {
    const lead = aLead({ country: undefined, region: undefined });
    const result = scoreByRules(lead, { values: { country: "DE" }, provenance: {} }, config);
    expect(result.reasons).toContainEqual(
      expect.objectContaining({ field: "enrichment.country", value: "DE", points: 8 }),
    );
  });

  it("ignores unknown facts instead of guessing", () => {
    const result = scoreByRules(
      aLead({ country: undefined, region: undefined, title: undefined }),
      { values: {}, provenance: {} },
      config,
    );
    expect(result.ruleScore).toBe(config.base);
    expect(result.reasons).toEqual([]);
  });
});

describe("tiers and grey zone", () => {
  it.each([
    [70, "hot"],
    [69, "warm"],
    [45, "warm"],
    [44, "cold"],
    [0, "cold"],
  ] as const)("score %i is %s", (score, tier) => {
    expect(tierOf(score, config)).toBe(tier);
  });

  it("grey zone bounds are inclusive", () => {
    expect(inGreyZone(config.greyZone.min, config)).toBe(true);
    expect(inGreyZone(config.greyZone.max, config)).toBe(true);
    expect(inGreyZone(config.greyZone.max + 1, config)).toBe(false);
  });
});

describe("parseScoringConfig", () => {
  it("accepts the shipped file", () => {
    expect(shippedScoring().base).toBe(10);
  });

  it("names the JSON path of every problem", () => {
    const bad = structuredClone(shippedScoring()) as Record<string, unknown>;
    bad.tiers = { hot: 40, warm: 60 };
    bad.greyZone = { min: 60, max: 50 };
    (bad.signals as Array<Record<string, unknown>>).push({
      name: "demo-request",
      field: "form",
      contains: ["x"],
      points: 1,
    });
    const parsed = parseScoringConfig(bad);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.errors.map((e) => e.path)).toEqual(["$.tiers.warm", "$.greyZone.min", "$.signals[5].name"]);
  });

  it("rejects unknown keys and wrong types with their path", () => {
    const parsed = parseScoringConfig({ ...shippedScoring(), freeMail: "lots", extra: 1 });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    const paths = parsed.errors.map((e) => e.path);
    expect(paths).toContain("$.freeMail");
    expect(parsed.errors.some((e) => e.message.includes("extra"))).toBe(true);
  });
});
