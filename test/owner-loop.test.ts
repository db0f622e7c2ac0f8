/**
 * The owner loop's pure parts: its edges (graph/edges.ts), the wait a lead is in (domain/ownership.ts
 * `currentWait`, SLA deadlines in working hours), and the acceptance report (app/reports.ts).
 */
import { describe, expect, it } from "vitest";
import { computeReports } from "../app/reports.ts";
import { loadRoutingFile } from "../config/routing.ts";
import { currentWait, type Ownership, ownersWhoHadIt, reassignmentsOf } from "../domain/ownership.ts";
import { pathAfterCrm, pathAfterDecision, pathAfterSummary } from "../graph/edges.ts";
import type { LeadRecord } from "../store/lead-store.ts";

const parsed = loadRoutingFile("config/routing.json");
if (!parsed.ok) throw new Error("config/routing.json does not parse");
const routing = parsed.config;
const awaiting = (extra: Partial<Ownership> = {}): Ownership => ({
  ownerId: "maya.patel",
  status: "awaiting",
  handoffs: [],
  ...extra,
});

describe("owner loop edges", () => {
  const route = { ownerId: "maya.patel", ruleName: "na-enterprise", kind: "pool" as const, explanation: [] };

  it("waits for an owner after the CRM, never for a nurture or queue lead, nor once decided", () => {
    expect(pathAfterCrm({ path: "qualified", route, ownership: undefined })).toBe("awaitOwner");
    expect(pathAfterCrm({ path: "qualified", route, ownership: awaiting({ status: "reassigned" }) })).toBe(
      "awaitOwner",
    );
    expect(pathAfterCrm({ path: "nurture", route, ownership: undefined })).toBe("__end__");
    expect(
      pathAfterCrm({ path: "qualified", route: { ...route, ownerId: undefined }, ownership: undefined }),
    ).toBe("__end__");
    expect(pathAfterCrm({ path: "qualified", route, ownership: awaiting({ status: "accepted" }) })).toBe(
      "__end__",
    );
  });

  it("after a decision: tells a new holder, waits again, nurtures, or ends", () => {
    expect(pathAfterDecision({ path: "qualified", ownership: awaiting({ status: "reassigned" }) })).toBe(
      "notifyOwner",
    );
    expect(pathAfterDecision({ path: "qualified", ownership: awaiting() })).toBe("awaitOwner");
    expect(pathAfterDecision({ path: "review", ownership: awaiting({ ownerId: null }) })).toBe("reviewLead");
    expect(pathAfterDecision({ path: "nurture", ownership: awaiting({ status: "declined" }) })).toBe(
      "nurtureLead",
    );
    expect(pathAfterDecision({ path: "qualified", ownership: awaiting({ status: "accepted" }) })).toBe(
      "__end__",
    );
    expect(pathAfterDecision({ path: "qualified", ownership: awaiting({ status: "declined" }) })).toBe(
      "__end__",
    );
  });

  it("reviews a lead the rules could not settle before anyone is told", () => {
    expect(pathAfterSummary({ path: "review" })).toBe("postReview");
    expect(pathAfterSummary({ path: "qualified" })).toBe("notifyOwner");
  });
});

describe("currentWait", () => {
  const base = {
    leadId: "l-1",
    receivedAt: "2026-11-30T08:00:00.000Z",
    notifications: [
      {
        adapter: "outbox",
        channel: "x",
        messageId: "1",
        ownerId: "maya.patel",
        at: "2026-11-30T08:00:01.000Z",
      },
    ],
    ownership: undefined,
  };

  it("starts the clock at the holder's message and sets the deadline from the rule's or pool's SLA", () => {
    const withSla = {
      ...routing,
      pools: routing.pools.map((p) =>
        p.id === "na-enterprise"
          ? { ...p, sla: { acceptWithin: "15m", onBreach: "reassign" as const, maxReassignments: 2 } }
          : p,
      ),
      owners: routing.owners.map((o) => (o.id === "maya.patel" ? { ...o, hours: undefined } : o)),
    };
    const route = {
      ownerId: "maya.patel",
      pool: "na-enterprise",
      ruleName: "na-enterprise",
      kind: "pool" as const,
      explanation: [],
    };
    const wait = currentWait({ ...base, route }, withSla);
    expect(wait).toMatchObject({
      kind: "owner",
      round: 0,
      ownerId: "maya.patel",
      since: "2026-11-30T08:00:01.000Z",
    });
    expect(wait.deadline).toBe("2026-11-30T08:15:01.000Z");
    expect(wait.sla).toContain("accept within 15m");
    // No SLA: no deadline; an SLA already spent: no deadline either.
    expect(currentWait({ ...base, route }, routing).deadline).toBeUndefined();
    expect(
      currentWait({ ...base, route, ownership: awaiting({ slaDone: true, round: 2 }) }, withSla),
    ).toMatchObject({
      round: 2,
    });
    expect(
      currentWait({ ...base, route, ownership: awaiting({ slaDone: true }) }, withSla).deadline,
    ).toBeUndefined();
  });

  it("names who had the lead and counts the SLA's hand-offs", () => {
    const at = "2026-11-30T08:10:00.000Z";
    const own = awaiting({
      ownerId: "sofia.reyes",
      handoffs: [
        { from: "maya.patel", to: "liam.oconnor", kind: "sla", by: "sla-timer", at, afterMs: 1 },
        { from: "liam.oconnor", to: "sofia.reyes", kind: "reassign", by: "liam", at, afterMs: 1 },
      ],
    });
    expect(ownersWhoHadIt(own, "sofia.reyes").sort()).toEqual(["liam.oconnor", "maya.patel", "sofia.reyes"]);
    expect(reassignmentsOf(own)).toBe(1);
    expect(reassignmentsOf(own, ["sla", "reassign"])).toBe(2);
  });
});

describe("acceptance report", () => {
  const lead = (id: string, facets: LeadRecord["facets"]): LeadRecord => ({
    leadId: id,
    status: "completed",
    receivedAt: "2026-11-30T08:00:00.000Z",
    updatedAt: "2026-11-30T09:00:00.000Z",
    attempts: 1,
    payload: {},
    timeline: [],
    facets,
  });

  it("gives time to accept p50/p90 and SLA breaches per owner", () => {
    const leads = [
      lead("a", { ownerId: "maya.patel", acceptMs: 60_000 }),
      lead("b", { ownerId: "maya.patel", acceptMs: 120_000, slaBreachedBy: ["liam.oconnor"], handoffs: 1 }),
      lead("c", { ownerId: "maya.patel", acceptMs: 600_000 }),
      lead("d", { ownerId: "grace.kim", slaBreachedBy: ["grace.kim", "grace.kim"] }),
    ];
    const from = new Date("2026-11-30T00:00:00.000Z");
    const to = new Date("2026-12-01T00:00:00.000Z");
    const { acceptance } = computeReports(leads, { from, to, routing, prices: { prompt: 0, completion: 0 } });
    expect(acceptance).toMatchObject({
      available: true,
      accepted: 3,
      p50Ms: 120_000,
      p90Ms: 600_000,
      slaBreaches: 3,
      handoffs: 1,
    });
    expect(acceptance.byOwner).toEqual([
      { ownerId: "maya.patel", accepted: 3, p50Ms: 120_000, p90Ms: 600_000, slaBreaches: 0 },
      { ownerId: "grace.kim", accepted: 0, slaBreaches: 2 },
      { ownerId: "liam.oconnor", accepted: 0, slaBreaches: 1 },
    ]);
  });
});
