/**
 * `config check` warnings: each mistake a RevOps person can make in a valid routing.json, found with its
 * rule number (1-based, as `route` prints it) and JSON path; the shipped routing.json has none; --strict
 * turns warnings into a failing exit code.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { configCheckCommand } from "../cli/config.ts";
import { parseEnv } from "../config/env.ts";
import { knownVocabulary, lintWarnings } from "../config/lint.ts";
import { parseRoutingConfig } from "../config/routing.ts";
import { loadScoringFile } from "../config/scoring.ts";
import { covers, editDistance, lintRouting, nearest } from "../domain/routing/lint.ts";
import type { RoutingConfig } from "../domain/routing/schema.ts";

const SHIPPED = JSON.parse(readFileSync("config/routing.json", "utf8")) as Record<string, unknown> & {
  rules: Array<Record<string, unknown>>;
  owners: Array<Record<string, unknown>>;
  pools: Array<Record<string, unknown>>;
};
const scoring = loadScoringFile("config/scoring.json");
if (!scoring.ok) throw new Error("config/scoring.json is invalid");
const vocabulary = knownVocabulary("fixtures", scoring.config);

function withRules(edit: (json: typeof SHIPPED) => void): RoutingConfig {
  const json = structuredClone(SHIPPED);
  edit(json);
  const parsed = parseRoutingConfig(json);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.config;
}

const ruleIndex = (name: string) => SHIPPED.rules.findIndex((r) => r.name === name);

describe("lintRouting", () => {
  it("finds nothing in the shipped routing.json", () => {
    const parsed = parseRoutingConfig(SHIPPED);
    if (!parsed.ok) throw new Error("shipped routing.json is invalid");
    expect(lintWarnings(parsed.config, scoring.config, "fixtures")).toEqual([]);
  });

  it("flags a rule placed after a rule that catches every lead it would, with an always-available owner", () => {
    // na-east (every US lead, to noah.williams, who has no cap, no away dates) moved before na-west.
    const config = withRules((json) => {
      const east = json.rules.splice(ruleIndex("na-east"), 1)[0]!;
      json.rules.splice(ruleIndex("nyc-metro"), 0, east);
    });
    const warnings = lintRouting(config, vocabulary).filter((w) => w.code === "unreachable-rule");
    const position = (name: string) => config.rules.findIndex((r) => r.name === name) + 1;
    expect(warnings.map((w) => w.message)).toEqual([
      `rule ${position("nyc-metro")} "nyc-metro" can never match: rule ${position("na-east")} "na-east" comes first, matches every lead it would, and always has someone available`,
      `rule ${position("na-west")} "na-west" can never match: rule ${position("na-east")} "na-east" comes first, matches every lead it would, and always has someone available`,
      `rule ${position("na-central")} "na-central" can never match: rule ${position("na-east")} "na-east" comes first, matches every lead it would, and always has someone available`,
    ]);
    expect(warnings[0]?.path).toBe(`$.rules[${position("nyc-metro") - 1}]`);
  });

  it("does not flag a later rule when the earlier assignee can be unavailable (cap, away, inactive)", () => {
    // na-enterprise's pool members all have daily caps: leads they cannot take fall through to later rules.
    const config = withRules((json) => {
      json.rules.splice(ruleIndex("na-east") + 1, 0, {
        name: "us-big",
        when: { country: ["US"], employees: { min: 5000 } },
        assign: { type: "pool", pool: "na-enterprise" },
      });
      const enterprise = json.rules.find((r) => r.name === "na-enterprise")!;
      json.rules.splice(ruleIndex("na-east") + 2, 0, { ...enterprise, name: "na-enterprise-again" });
    });
    const unreachable = lintRouting(config, vocabulary).filter((w) => w.code === "unreachable-rule");
    expect(unreachable.map((w) => w.message)).toEqual([
      // us-big comes after na-east, whose owner is always available.
      expect.stringContaining('"us-big" can never match: rule'),
    ]);
  });

  it("flags an exact copy of a rule", () => {
    const config = withRules((json) => {
      json.rules.push(structuredClone(json.rules[ruleIndex("dach")]!));
      (json.rules.at(-1) as Record<string, unknown>).name = "dach-copy";
    });
    const copies = lintRouting(config, vocabulary).filter((w) => w.code === "duplicate-rule");
    expect(copies).toEqual([
      {
        path: `$.rules[${config.rules.length - 1}]`,
        code: "duplicate-rule",
        message: `rule ${config.rules.length} "dach-copy" is a copy of rule ${ruleIndex("dach") + 1} "dach"`,
      },
    ]);
  });

  it("flags a catch-all rule at position 2, and every rule it shadows", () => {
    const config = withRules((json) => {
      json.rules.splice(1, 0, {
        name: "everything",
        when: {},
        assign: { type: "queue", queue: "sdr-review" },
      });
    });
    const warnings = lintRouting(config, vocabulary);
    expect(warnings[0]).toMatchObject({ path: "$.rules[1].when", code: "catch-all-before-end" });
    expect(warnings[0]?.message).toMatch(/^rule 2 "everything" has no conditions/);
    const shadowed = warnings.filter((w) => w.code === "unreachable-rule");
    expect(shadowed).toHaveLength(config.rules.length - 2);
    expect(shadowed.every((w) => w.message.includes('rule 2 "everything" comes first'))).toBe(true);
  });

  it("flags state names where codes are expected, and codes that do not exist", () => {
    const config = withRules((json) => {
      json.rules[ruleIndex("na-west")]!.when = { country: ["US"], state: ["California", "WA", "XQ"] };
    });
    const states = lintRouting(config, vocabulary).filter((w) => w.code.includes("state"));
    const at = `$.rules[${ruleIndex("na-west")}].when.state`;
    expect(states).toEqual([
      {
        path: `${at}[0]`,
        code: "state-name",
        message: 'state "CALIFORNIA" is a name; rules compare codes: use "CA"',
      },
      {
        path: `${at}[2]`,
        code: "unknown-state",
        message: 'state "XQ" is not a US state or Canadian province code',
      },
    ]);
  });

  it("flags a pool with no active member", () => {
    const config = withRules((json) => {
      for (const owner of json.owners)
        if (["camille.martin", "lucas.janssen"].includes(owner.id as string)) owner.active = false;
    });
    const pools = lintRouting(config, vocabulary).filter((w) => w.code === "pool-without-active-member");
    expect(pools).toEqual([
      {
        path: `$.pools[${SHIPPED.pools.findIndex((p) => p.id === "emea")}]`,
        code: "pool-without-active-member",
        message: 'pool "emea" has no active member: every lead routed to it falls through',
      },
    ]);
  });

  it("flags postal prefixes that cannot start a postal code of the rule's countries", () => {
    const config = withRules((json) => {
      json.rules[ruleIndex("nyc-metro")]!.when = {
        country: ["US"],
        postalPrefix: ["100", "SW1", "1234567890"],
      };
      json.rules[ruleIndex("canada")]!.when = { country: ["CA"], postalPrefix: ["M5V", "123"] };
    });
    const postal = lintRouting(config, vocabulary).filter((w) => w.code === "impossible-postal-prefix");
    expect(postal.map((w) => w.message)).toEqual([
      'postal prefix "SW1" cannot start a postal code of US',
      'postal prefix "1234567890" cannot start a postal code of US',
      'postal prefix "123" cannot start a postal code of CA',
    ]);
  });

  it("flags industries and sources outside the vocabulary, naming the likely typo", () => {
    const config = withRules((json) => {
      json.rules[ruleIndex("public-sector")]!.when = { industry: ["goverment", "education", "aerospace"] };
      json.rules[ruleIndex("partner-referrals")]!.when = { source: ["partnr"] };
    });
    const vocab = lintRouting(config, vocabulary).filter(
      (w) => w.code.startsWith("unknown-") || w.code === "likely-typo",
    );
    expect(vocab.map((w) => [w.code, w.message])).toEqual([
      ["likely-typo", 'source "partnr" is not a known source; did you mean "partner"?'],
      ["likely-typo", 'industry "goverment" is not a known industry; did you mean "government"?'],
      [
        "unknown-industry",
        expect.stringMatching(/^industry "aerospace" is not a known industry \(known: .*software/),
      ],
    ]);
  });
});

describe("coverage and typo helpers", () => {
  it("a region covers the countries in it; a narrower range is covered by a wider one", () => {
    expect(covers({ region: ["NA"] }, { country: ["US", "CA"] })).toBe(true);
    expect(covers({ region: ["NA"] }, { country: ["US", "MX"] })).toBe(false);
    expect(covers({ employees: { min: 100 } }, { employees: { min: 500, max: 900 } })).toBe(true);
    expect(covers({ employees: { min: 100 } }, { employees: { max: 900 } })).toBe(false);
    expect(covers({ postalPrefix: ["10"] }, { postalPrefix: ["100", "104"] })).toBe(true);
    expect(covers({}, { tier: ["hot"] })).toBe(true);
    expect(covers({ tier: ["hot"] }, {})).toBe(false);
  });

  it("edit distance counts a swap of neighbours once; nearest keeps to small distances", () => {
    expect(editDistance("goverment", "government")).toBe(1);
    expect(editDistance("sotfware", "software")).toBe(1);
    expect(nearest("fintec", ["fintech", "retail"])).toBe("fintech");
    expect(nearest("media", ["fintech", "retail"])).toBeUndefined();
  });
});

describe("leadgraph config check", () => {
  const dirs: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function check(routing: unknown, strict: boolean): { code: number; output: string } {
    const dir = mkdtempSync(join(tmpdir(), "leadgraph-check-"));
    dirs.push(dir);
    const file = join(dir, "routing.json");
    writeFileSync(file, JSON.stringify(routing));
    const lines: string[] = [];
    vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void lines.push(args.join(" ")));
    vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void lines.push(args.join(" ")));
    const env = parseEnv({ ROUTING_FILE: file });
    return { code: configCheckCommand(env, { strict, json: false }), output: lines.join("\n") };
  }

  it("passes the shipped files", () => {
    expect(check(SHIPPED, true)).toMatchObject({ code: 0, output: expect.stringMatching(/^ok: /) });
  });

  it("prints warnings with the file and JSON path; exits 0 without --strict and 1 with it", () => {
    const copy = structuredClone(SHIPPED);
    copy.rules.splice(1, 0, { name: "everything", when: {}, assign: { type: "queue", queue: "sdr-review" } });
    const lenient = check(copy, false);
    expect(lenient.code).toBe(0);
    expect(lenient.output).toContain('routing.json: warning: rule 2 "everything" has no conditions');
    expect(lenient.output).toContain("($.rules[1].when)");
    expect(check(copy, true).code).toBe(1);
  });

  it("still fails on errors, with their JSON paths", () => {
    const broken = structuredClone(SHIPPED);
    broken.rules[0]!.assign = { type: "pool", pool: "nobody" };
    const result = check(broken, false);
    expect(result.code).toBe(1);
    expect(result.output).toContain('$.rules[0].assign.pool: unknown pool "nobody"');
  });
});
