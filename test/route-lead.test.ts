import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseRoutingConfig } from "../config/routing.ts";
import type { RoutingConfig } from "../domain/routing/schema.ts";
import type { Score } from "../domain/types.ts";
import { initialState } from "../graph/build.ts";
import type { LeadState } from "../graph/state.ts";
import { createRouteLeadNode, decidePath } from "../nodes/route-lead.ts";
import { MemoryCounters } from "../store/memory.ts";
import type { Crm, CrmCompany, Logger } from "../tools/ports.ts";

const routing = ((): RoutingConfig => {
  const result = parseRoutingConfig(
    JSON.parse(readFileSync(new URL("../config/routing.json", import.meta.url), "utf8")),
  );
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.config;
})();

function score(overrides: Partial<Score> = {}): Score {
  return { value: 75, tier: "hot", ruleScore: 75, greyZone: false, reasons: [], evidence: [], ...overrides };
}

const llm = {
  adjustment: 5,
  proposed: 5,
  reasons: ["clear buying intent"],
  evidence: [],
  model: "test-model",
};

function leadState(overrides: Partial<LeadState> = {}): LeadState {
  return {
    ...initialState({ leadId: "lead-1", receivedAt: "2026-06-15T12:00:00Z", source: "generic", raw: {} }),
    lead: {
      email: "jane@acme.example",
      emailDomain: "acme.example",
      companyDomain: "acme.example",
      country: "DE",
      region: "EMEA",
      source: "web",
      utm: {},
    },
    enrichment: { values: { industry: "software", employees: 300 }, provenance: {} },
    score: score(),
    ...overrides,
  } as LeadState;
}

/** A CRM that only answers company lookups; the node must not call anything else. */
function fakeCrm(find: (domain: string) => Promise<CrmCompany | null>): Crm & { lookups: string[] } {
  const lookups: string[] = [];
  const unused = () => Promise.reject(new Error("routeLead must not write to the CRM"));
  return {
    name: "fake",
    lookups,
    findCompanyByDomain(domain) {
      lookups.push(domain);
      return find(domain);
    },
    upsertContact: unused,
    setOwner: unused,
    addNote: unused,
    findNote: unused,
    createTask: unused,
    findTask: unused,
    setNurtureStatus: unused,
    getContact: unused,
    findContactByEmail: async () => null,
  };
}

function recordingLogger() {
  const warnings: Array<{ obj: Record<string, unknown>; msg?: string }> = [];
  const logger: Logger = {
    info() {},
    debug() {},
    error() {},
    warn: (obj, msg) => warnings.push({ obj, msg }),
  };
  return { logger, warnings };
}

function node(
  crm: Crm,
  logger: Logger = recordingLogger().logger,
  counters = new MemoryCounters(),
  explainRoutes = false,
) {
  return createRouteLeadNode({
    routing: () => routing,
    counters,
    crm,
    clock: () => new Date("2026-06-15T12:00:00Z"),
    logger,
    explainRoutes,
  });
}

/** The node as dry runs build it: every rule's verdict in the explanation. */
const explainingNode = (crm: Crm, logger?: Logger) => node(crm, logger, new MemoryCounters(), true);

describe("decidePath", () => {
  it.each([
    ["nurture queue", "nurture", score({ greyZone: true }), "nurture"],
    ["review queue or fallback", "review", score(), "review"],
    ["owner, clear score", "qualified", score(), "qualified"],
    ["owner, grey zone without LLM", "qualified", score({ greyZone: true }), "review"],
    ["owner, grey zone settled by the LLM", "qualified", score({ greyZone: true, llm }), "qualified"],
    ["owner, no score", "qualified", undefined, "qualified"],
  ] as const)("%s → %s", (_case, path, s, expected) => {
    expect(decidePath({ path }, s)).toBe(expected);
  });
});

describe("routeLead node", () => {
  it("routes a lead by its facts and returns only route and path", async () => {
    const crm = fakeCrm(async () => null);
    const update = await node(crm)(leadState());
    expect(Object.keys(update).sort()).toEqual(["path", "route"]);
    expect(update.path).toBe("qualified");
    expect(update.route).toMatchObject({ ruleName: "dach", kind: "owner", ownerId: "jonas.weber" });
    expect(update.route).not.toHaveProperty("owner");
    expect(crm.lookups).toEqual(["acme.example"]);
  });

  it("sends an existing CRM account to its owner", async () => {
    const crm = fakeCrm(async (domain) => ({ id: "c1", name: "Acme", domain, ownerId: "70011" }));
    const update = await node(crm)(leadState());
    expect(update.route).toMatchObject({
      ruleName: "existing-account",
      kind: "account",
      ownerId: "oliver.hughes",
    });
  });

  it("treats a CRM company without an owner as no account", async () => {
    const crm = fakeCrm(async (domain) => ({ id: "c1", name: "Acme", domain }));
    const update = await explainingNode(crm)(leadState());
    expect(update.route?.explanation[3]).toBe(
      'rule 4 "existing-account": no — existing account no, needs yes',
    );
  });

  it("keeps the rule it stopped at and counts the rules before it; a dry run explains each", async () => {
    const crm = fakeCrm(async () => null);
    const kept = await node(crm)(leadState());
    expect(kept.route?.explanation).toEqual([
      "rules 1–14: no — their conditions did not hold (14 rules)",
      'rule 15 "dach": yes — country DE in [DE, AT, CH]',
      "assigned to owner jonas.weber",
    ]);
    const explained = await explainingNode(crm)(leadState());
    expect(explained.route?.explanation).toHaveLength(16);
    expect(explained.route?.explanation.slice(-2)).toEqual(kept.route?.explanation.slice(-2));
  });

  it("does not look up a lead without a company domain", async () => {
    const crm = fakeCrm(async () => null);
    const state = leadState();
    const update = await node(crm)({ ...state, lead: { ...state.lead!, companyDomain: undefined } });
    expect(crm.lookups).toEqual([]);
    expect(update.route?.ruleName).toBe("dach");
  });

  it("degrades on a CRM failure: warns, leaves existing account unknown and still routes", async () => {
    const { logger, warnings } = recordingLogger();
    const crm = fakeCrm(async () => {
      throw new Error("HubSpot 503");
    });
    const update = await explainingNode(crm, logger)(leadState());
    expect(update.route?.ownerId).toBe("jonas.weber");
    expect(update.route?.explanation[3]).toBe('rule 4 "existing-account": no — existing account unknown');
    expect(update.warnings).toEqual([
      {
        node: "routeLead",
        code: "crm_lookup_failed",
        message: "CRM company lookup failed (HubSpot 503); existing account unknown",
      },
    ]);
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings)).not.toContain("jane@");
  });

  it("sends cold leads down the nurture path", async () => {
    const update = await node(fakeCrm(async () => null))(
      leadState({ score: score({ tier: "cold", value: 20 }) }),
    );
    expect(update).toMatchObject({ path: "nurture", route: { queue: "nurture", kind: "queue" } });
  });

  it("marks an unsettled grey-zone lead for review but keeps its owner", async () => {
    const update = await node(fakeCrm(async () => null))(
      leadState({ score: score({ tier: "warm", value: 50, greyZone: true }) }),
    );
    expect(update.path).toBe("review");
    expect(update.route?.ownerId).toBe("jonas.weber");
    expect(update.route?.explanation.at(-1)).toBe("grey-zone score not settled by an LLM — path review");
  });

  it("uses the company's HQ country when the lead gave none", async () => {
    const state = leadState({ enrichment: { values: { country: "JP", employees: 300 }, provenance: {} } });
    const update = await node(fakeCrm(async () => null))({
      ...state,
      lead: { ...state.lead!, country: undefined, region: undefined },
    });
    expect(update.route).toMatchObject({ ruleName: "apac", ownerId: "kenji.tanaka" });
  });
});
