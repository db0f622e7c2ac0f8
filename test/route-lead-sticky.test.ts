/**
 * Sticky ownership through the routeLead node: a person who is a CRM contact with an owner, or who was routed
 * within the returning window, goes back to that owner, with no round-robin turn and the reason in words.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseRoutingConfig } from "../config/routing.ts";
import type { RoutingConfig } from "../domain/routing/schema.ts";
import { personKey } from "../domain/routing/sticky.ts";
import type { RouteMemory } from "../domain/types.ts";
import { initialState } from "../graph/build.ts";
import type { LeadState } from "../graph/state.ts";
import { createRouteLeadNode } from "../nodes/route-lead.ts";
import { MemoryCounters, MemoryRouteMemory } from "../store/memory.ts";
import type { Logger } from "../tools/ports.ts";
import { recordingCrm } from "./helpers/fakes.ts";

// biome-ignore lint/suspicious/noExplicitAny: edits reach into the raw JSON.
function shipped(edit: (json: any) => void = () => {}): RoutingConfig {
  const json = JSON.parse(readFileSync("config/routing.json", "utf8"));
  edit(json);
  const result = parseRoutingConfig(json);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.config;
}

const NOW = new Date("2026-10-05T09:00:00Z");
const silent: Logger = { info() {}, debug() {}, error() {}, warn() {} };

/** A German software company of 300: the `dach` rule's lead (jonas.weber) unless it is sticky. */
function leadState(leadId: string, email: string, overrides: Partial<LeadState> = {}): LeadState {
  return {
    ...initialState({ leadId, receivedAt: NOW.toISOString(), source: "generic", raw: {} }),
    lead: {
      email,
      emailDomain: "acme.example",
      companyDomain: "acme.example",
      country: "DE",
      source: "web",
      utm: {},
    },
    enrichment: { values: { industry: "software", employees: 300 }, provenance: {} },
    score: { value: 75, tier: "hot", ruleScore: 75, greyZone: false, reasons: [], evidence: [] },
    ...overrides,
  } as LeadState;
}

function setup(
  options: { contacts?: Record<string, string>; routing?: RoutingConfig; memory?: RouteMemory } = {},
) {
  const counters = new MemoryCounters();
  const routeMemory = options.memory ?? new MemoryRouteMemory(() => NOW);
  const crm = recordingCrm([], options.contacts ?? {});
  const config = options.routing ?? shipped();
  const warnings: string[] = [];
  const node = createRouteLeadNode({
    routing: () => config,
    counters,
    crm,
    routeMemory,
    clock: () => NOW,
    logger: { ...silent, warn: (obj) => void warnings.push(String(obj.code)) },
    explainRoutes: true,
  });
  return { node, counters, routeMemory, crm, warnings };
}

const routedBefore = (days: number, ownerId = "maya.patel") => ({
  ownerId,
  leadId: "lead-earlier",
  routedAt: new Date(NOW.getTime() - days * 86_400_000).toISOString(),
});

describe("sticky ownership", () => {
  it("sends an existing CRM contact with an owner to that owner, with no round-robin turn", async () => {
    const { node, counters } = setup({ contacts: { "jane@acme.example": "70003" } });
    const update = await node(leadState("lead-1", "jane@acme.example"));
    expect(update.route).toMatchObject({
      ruleName: "existing-contact",
      kind: "contact",
      ownerId: "sofia.reyes",
    });
    expect(update.route?.explanation.slice(1, 3)).toEqual([
      'rule 2 "existing-contact": yes — existing contact yes, needs yes',
      "existing contact: owned by sofia.reyes in the CRM (CRM owner 70003), same owner",
    ]);
    expect(update.route?.facts).toMatchObject({ existingContact: true, contactOwnerCrmId: "70003" });
    expect(await counters.get("rr:na-enterprise")).toBe(0);
    expect(await counters.get("cap:sofia.reyes:2026-10-05")).toBe(1);
  });

  it("sends a returning person to the owner they had within the window, and says when", async () => {
    const memory = new MemoryRouteMemory(() => NOW);
    await memory.remember(personKey("jane@acme.example"), routedBefore(3), 90 * 86_400);
    const { node } = setup({ memory });
    const update = await node(leadState("lead-2", "Jane+Webinar@acme.example"));
    expect(update.route).toMatchObject({
      ruleName: "returning-lead",
      kind: "contact",
      ownerId: "maya.patel",
      previous: routedBefore(3),
    });
    expect(update.route?.explanation).toContain(
      "returning lead: routed to maya.patel on 2026-10-02 (lead lead-earlier), same owner",
    );
  });

  it("treats a person routed before the window as new", async () => {
    const memory = new MemoryRouteMemory(() => NOW);
    await memory.remember(personKey("jane@acme.example"), routedBefore(91), 365 * 86_400);
    const { node } = setup({ memory });
    const update = await node(leadState("lead-3", "jane@acme.example"));
    expect(update.route).toMatchObject({ ruleName: "dach", ownerId: "jonas.weber" });
    expect(update.route?.previous).toBeUndefined();
    expect(update.route?.explanation[2]).toBe('rule 3 "returning-lead": no — returning lead no, needs yes');
  });

  it("follows the window set in routing.json", async () => {
    const routedAt = async (windowDays: number) => {
      const memory = new MemoryRouteMemory(() => NOW);
      await memory.remember(personKey("jane@acme.example"), routedBefore(20), 365 * 86_400);
      const { node } = setup({ memory, routing: shipped((json) => (json.returning = { windowDays })) });
      return (await node(leadState("lead-4", "jane@acme.example"))).route?.ownerId;
    };
    expect(await routedAt(14)).toBe("jonas.weber");
    expect(await routedAt(30)).toBe("maya.patel");
  });

  it("remembers whom it routed a person to, so their next form goes to the same owner of a pool", async () => {
    const { node, counters, routeMemory } = setup();
    const big = { values: { industry: "software", employees: 5000 }, provenance: {} };
    const us = (leadId: string, email: string) =>
      leadState(leadId, email, {
        enrichment: big,
        lead: { ...leadState(leadId, email).lead!, country: "US" },
      });
    const first = await node(us("lead-a", "dana@big.example"));
    await node(us("lead-b", "someone.else@big.example"));
    const again = await node(us("lead-c", "dana@big.example"));
    expect(first.route).toMatchObject({ ruleName: "na-enterprise", pool: "na-enterprise" });
    expect(again.route).toMatchObject({ ruleName: "returning-lead", ownerId: first.route?.ownerId });
    expect(again.route?.pool).toBeUndefined();
    // Two round-robin turns for three leads: the returning one took none.
    expect(await counters.get("rr:na-enterprise")).toBe(2);
    expect(await routeMemory.recall(personKey("dana@big.example"))).toEqual({
      ownerId: first.route?.ownerId,
      leadId: "lead-c",
      routedAt: NOW.toISOString(),
    });
  });

  it("passes an away contact owner over to the person's returning owner, then to the rules", async () => {
    const memory = new MemoryRouteMemory(() => NOW);
    await memory.remember(personKey("jane@acme.example"), routedBefore(3, "liam.oconnor"), 90 * 86_400);
    const away = shipped((json) => {
      json.owners.find((o: { id: string }) => o.id === "sofia.reyes").away = [
        { from: "2026-10-01", to: "2026-10-09" },
      ];
    });
    const { node } = setup({ contacts: { "jane@acme.example": "70003" }, memory, routing: away });
    const update = await node(leadState("lead-6", "jane@acme.example"));
    expect(update.route).toMatchObject({ ruleName: "existing-contact", ownerId: "liam.oconnor" });
    expect(update.route?.explanation.slice(2, 4)).toEqual([
      "owner sofia.reyes is away 2026-10-01..2026-10-09",
      "returning lead: routed to liam.oconnor on 2026-10-02 (lead lead-earlier), same owner",
    ]);
  });

  it("leaves returning unknown when the memory fails, warns, and still routes", async () => {
    const broken: RouteMemory = {
      recall: () => Promise.reject(new Error("redis down")),
      remember: async () => {},
    };
    const { node, warnings } = setup({ memory: broken });
    const update = await node(leadState("lead-7", "jane@acme.example"));
    expect(update.route?.ownerId).toBe("jonas.weber");
    expect(update.route?.explanation[2]).toBe('rule 3 "returning-lead": no — returning lead unknown');
    expect(update.warnings).toEqual([
      {
        node: "routeLead",
        code: "route_memory_failed",
        message: "returning-lead memory unavailable; returning unknown (redis down)",
      },
    ]);
    expect(warnings).toEqual(["route_memory_failed"]);
  });

  it("gives the cap slot back when the route cannot be remembered, so the retry starts clean", async () => {
    const failing: RouteMemory = {
      recall: async () => undefined,
      remember: () => Promise.reject(new Error("redis down")),
    };
    const capped = shipped((json) => {
      json.owners.find((o: { id: string }) => o.id === "jonas.weber").dailyCap = 5;
    });
    const { node, counters } = setup({ memory: failing, routing: capped });
    await expect(node(leadState("lead-8", "jane@acme.example"))).rejects.toThrow("redis down");
    expect(await counters.get("cap:jonas.weber:2026-10-05")).toBe(0);
  });
});

describe("a lead routed again", () => {
  it("does not count its own earlier routing as a returning person", async () => {
    const { node } = setup();
    await node(leadState("lead-9", "jane@acme.example"));
    const again = await node(leadState("lead-9", "jane@acme.example"));
    expect(again.route).toMatchObject({ ruleName: "dach", ownerId: "jonas.weber" });
    expect(again.route?.previous).toBeUndefined();
  });
});
