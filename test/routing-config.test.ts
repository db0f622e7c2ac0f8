import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  loadRoutingFile,
  parseRoutingConfig,
  RoutingConfigError,
  type RoutingWatcher,
  watchRoutingFile,
} from "../config/routing.ts";
import { normalizeCountryCode, type RoutingConfig } from "../domain/routing/schema.ts";
import type { Logger } from "../tools/ports.ts";

const shippedFile = new URL("../config/routing.json", import.meta.url);

// biome-ignore lint/suspicious/noExplicitAny: tests write wrong shapes into the JSON on purpose.
type LooseJson = Record<string, any>;

function minimal(): LooseJson {
  return {
    owners: [
      { id: "ann", name: "Ann", email: "ann@example.com", crmOwnerId: "1" },
      { id: "bob", name: "Bob", email: "bob@example.com" },
    ],
    pools: [
      {
        id: "team",
        members: [
          { owner: "ann", weight: 2 },
          { owner: "bob", weight: 1 },
        ],
      },
    ],
    queues: [{ id: "review", name: "Review", path: "review" }],
    rules: [{ name: "us", when: { country: ["US"] }, assign: { type: "pool", pool: "team" } }],
    fallback: { type: "queue", queue: "review" },
  };
}

function errorsOf(json: unknown) {
  const result = parseRoutingConfig(json);
  if (result.ok) throw new Error("expected the config to be refused");
  return result.errors;
}

describe("parseRoutingConfig", () => {
  it("accepts the shipped config/routing.json", () => {
    const result = loadRoutingFile(shippedFile.pathname);
    expect(result.ok ? [] : result.errors).toEqual([]);
    if (!result.ok) return;
    expect(result.config.rules).toHaveLength(19);
    expect(result.config.owners.find((o) => o.id === "hannah.fischer")?.active).toBe(false);
    expect(result.config.owners.find((o) => o.id === "maya.patel")?.active).toBe(true);
    expect(result.config.fallback).toEqual({ type: "queue", queue: "sdr-review" });
  });

  it("normalises country aliases, state, postal prefixes, industry and source at load", () => {
    const json = minimal();
    json.rules[0].when = {
      country: ["UK", "usa", "Germany", "fr"],
      state: [" ca "],
      postalPrefix: ["sw1a 1"],
      industry: ["Software"],
      source: ["Partner"],
    };
    const result = parseRoutingConfig(json);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.rules[0]?.when).toEqual({
      country: ["GB", "US", "DE", "FR"],
      state: ["CA"],
      postalPrefix: ["SW1A1"],
      industry: ["software"],
      source: ["partner"],
    });
  });

  it("normalizeCountryCode knows codes, alpha-3, aliases and names, and refuses the rest", () => {
    expect(["GB", "uk", "GBR", "United Kingdom", "EL", "XX", "Atlantis"].map(normalizeCountryCode)).toEqual([
      "GB",
      "GB",
      "GB",
      "GB",
      "GR",
      undefined,
      undefined,
    ]);
  });

  it("names the JSON path of an unknown pool, owner or queue", () => {
    const json = minimal();
    json.rules.push({ name: "eu", when: { region: ["EMEA"] }, assign: { type: "pool", pool: "emea" } });
    json.pools[0].members.push({ owner: "carol", weight: 1 });
    json.fallback = { type: "queue", queue: "nurture" };
    expect(errorsOf(json)).toEqual([
      { path: "$.pools[0].members[2].owner", message: 'unknown owner "carol"' },
      { path: "$.rules[1].assign.pool", message: 'unknown pool "emea"' },
      { path: "$.fallback.queue", message: 'unknown queue "nurture"' },
    ]);
  });

  it("refuses duplicate owner, pool, queue and rule ids", () => {
    const json = minimal();
    json.owners.push({ id: "ann", name: "Ann 2", email: "ann2@example.com" });
    json.pools.push({ id: "team", members: [{ owner: "bob", weight: 1 }] });
    json.queues.push({ id: "review", name: "Again", path: "review" });
    json.rules.push({ ...json.rules[0] });
    json.pools[0].members.push({ owner: "bob", weight: 1 });
    const paths = errorsOf(json).map((e) => e.path);
    expect(paths).toEqual([
      "$.owners[2].id",
      "$.pools[1].id",
      "$.queues[1].id",
      "$.rules[1].name",
      "$.pools[0].members[2].owner",
    ]);
    expect(errorsOf(json)[0]?.message).toBe('duplicate owner id "ann" (also $.owners[0])');
  });

  it("refuses a country that is not ISO 3166 after alias normalisation", () => {
    const json = minimal();
    json.rules[0].when.country = ["US", "XX"];
    const [error] = errorsOf(json);
    expect(error?.path).toBe("$.rules[0].when.country[1]");
    expect(error?.message).toContain('"XX" is not an ISO 3166 country code');
  });

  it("refuses min > max, empty ranges, bad region and tier", () => {
    const json = minimal();
    json.rules[0].when = {
      employees: { min: 1000, max: 50 },
      revenue: {},
      region: ["EU"],
      tier: ["lukewarm"],
    };
    const errors = errorsOf(json);
    expect(errors).toContainEqual({
      path: "$.rules[0].when.employees",
      message: "min 1000 is greater than max 50",
    });
    expect(errors).toContainEqual({ path: "$.rules[0].when.revenue", message: "needs min, max or both" });
    expect(errors.map((e) => e.path)).toEqual(
      expect.arrayContaining(["$.rules[0].when.region[0]", "$.rules[0].when.tier[0]"]),
    );
  });

  it("refuses bad away dates and from after to", () => {
    const json = minimal();
    json.owners[0].away = [{ from: "2026-02-30", to: "2026-03-01" }];
    json.owners[1].away = [{ from: "2026-12-24", to: "2026-12-20" }];
    expect(errorsOf(json)).toEqual([
      { path: "$.owners[0].away[0].from", message: "must be a date written YYYY-MM-DD" },
      { path: "$.owners[1].away[0]", message: "from 2026-12-24 is after to 2026-12-20" },
    ]);
  });

  it("refuses weights that are not positive whole numbers", () => {
    const json = minimal();
    json.pools[0].members[0].weight = 0;
    json.pools[0].members[1].weight = 1.5;
    expect(errorsOf(json)).toEqual([
      { path: "$.pools[0].members[0].weight", message: "must be greater than 0" },
      { path: "$.pools[0].members[1].weight", message: "must be a whole number" },
    ]);
  });

  it("refuses a misspelt condition key instead of silently matching more leads", () => {
    const json = minimal();
    json.rules[0].when = { countries: ["US"] };
    expect(errorsOf(json).map((e) => e.path)).toEqual(["$.rules[0].when"]);
  });

  it("reports schema and reference problems together", () => {
    const json = minimal();
    json.owners[0].email = "not-an-email";
    json.rules[0].assign = { type: "owner", owner: "nobody" };
    expect(errorsOf(json).map((e) => e.path)).toEqual(["$.owners[0].email", "$.rules[0].assign.owner"]);
  });
});

describe("loadRoutingFile", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "leadgraph-routing-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("reports a JSON syntax error with its line and column", () => {
    const file = join(dir, "routing.json");
    writeFileSync(file, '{\n  "owners": [],\n  "rules": [1, 2,],\n  "fallback": {}\n}\n');
    const result = loadRoutingFile(file);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([
      { path: "$", message: "invalid JSON at line 3 column 18: Unexpected token ']'" },
    ]);
  });

  it("gives line and column for errors V8 locates by position too", () => {
    const file = join(dir, "routing.json");
    writeFileSync(file, '{\n  "owners": []\n  "rules": []\n}\n');
    const result = loadRoutingFile(file);
    expect(result.ok ? undefined : result.errors[0]?.message).toBe(
      "invalid JSON at line 3 column 3: Expected ',' or '}' after property value",
    );
  });

  it("reports a missing file instead of throwing", () => {
    const result = loadRoutingFile(join(dir, "absent.json"));
    expect(result.ok ? undefined : result.errors[0]?.message).toMatch(/cannot read .*absent\.json: ENOENT/);
  });
});

describe("watchRoutingFile", () => {
  let dir: string;
  let file: string;
  let watcher: RoutingWatcher | undefined;
  const warnings: Array<Record<string, unknown>> = [];
  let warned: () => void = () => {};
  const logger: Logger = {
    info() {},
    debug() {},
    error() {},
    warn(obj) {
      warnings.push(obj);
      warned();
    },
  };
  const nextWarning = () => new Promise<void>((resolve) => (warned = resolve));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "leadgraph-routing-watch-"));
    file = join(dir, "routing.json");
    warnings.length = 0;
    writeFileSync(file, JSON.stringify(minimal(), null, 2));
  });
  afterEach(() => {
    watcher?.close();
    watcher = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  function watchWithChanges() {
    let changed: (config: RoutingConfig) => void = () => {};
    const w = watchRoutingFile(file, { logger, debounceMs: 20, onChange: (config) => changed(config) });
    const nextChange = () => new Promise<RoutingConfig>((resolve) => (changed = resolve));
    return { w, nextChange };
  }

  it("reloads a valid edit", async () => {
    const { w, nextChange } = watchWithChanges();
    watcher = w;
    expect(w.current().rules[0]?.name).toBe("us");
    const json = minimal();
    json.rules[0].name = "us-renamed";
    const change = nextChange();
    writeFileSync(file, JSON.stringify(json));
    expect((await change).rules[0]?.name).toBe("us-renamed");
    expect(w.current().rules[0]?.name).toBe("us-renamed");
  });

  it("follows an editor that saves by writing a new file and renaming it over the old one", async () => {
    const { w, nextChange } = watchWithChanges();
    watcher = w;
    for (const name of ["first-save", "second-save"]) {
      const json = minimal();
      json.rules[0].name = name;
      const change = nextChange();
      writeFileSync(join(dir, "routing.json.tmp"), JSON.stringify(json));
      renameSync(join(dir, "routing.json.tmp"), file);
      expect((await change).rules[0]?.name).toBe(name);
    }
  });

  it("keeps the last good config on an invalid edit and logs every problem with its path", async () => {
    const { w } = watchWithChanges();
    watcher = w;
    const json = minimal();
    json.rules[0].assign = { type: "pool", pool: "missing" };
    json.rules[0].when.country = ["ZZ"];
    const warning = nextWarning();
    writeFileSync(file, JSON.stringify(json));
    await warning;
    // Both problems are logged in one synchronous loop, so both are there once the first arrives.
    expect(warnings.map((w) => w.path)).toEqual(["$.rules[0].when.country[0]", "$.rules[0].assign.pool"]);
    expect(warnings[1]?.problem).toBe('unknown pool "missing"');
    expect(w.current().rules[0]?.assign).toEqual({ type: "pool", pool: "team" });
  });

  it("refuses to start on an invalid file", () => {
    writeFileSync(file, "{ nope");
    expect(() => watchRoutingFile(file, { logger })).toThrow(RoutingConfigError);
  });
});
