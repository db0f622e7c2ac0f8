/**
 * Labelled cases with a clock and a world of their own (`at`, `given`): what fixtures/leads_sticky_hours.json
 * relies on. Each case runs on its own deps, and nothing it sets reaches the next case.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { LeadCase } from "../graph/batch.ts";
import { evaluateCases } from "../graph/labelled-cases.ts";
import { testDeps } from "./helpers/deps.ts";

const sample = JSON.parse(readFileSync("fixtures/leads_sample.json", "utf8")) as LeadCase[];
const payloadOf = (id: string) => sample.find((c) => c.id === id)?.payload;
/** L025: the NA enterprise pool (maya.patel 3, liam.oconnor 2, sofia.reyes 1); L012: dach → jonas.weber. */
const pooled = (c: Partial<LeadCase>): LeadCase => ({ id: "P", payload: payloadOf("L025"), ...c });

describe("labelled cases with `at` and `given`", () => {
  it("names a pool's member or the pool; a wrong member is a miss", async () => {
    const { deps } = await testDeps();
    const at = "2026-10-06T15:00:00Z";
    const report = await evaluateCases(deps, [
      pooled({ id: "member", at, expectedOwner: "maya.patel" }),
      pooled({ id: "pool", at, expectedOwner: "pool:na-enterprise" }),
      pooled({ id: "other", at, expectedOwner: "liam.oconnor" }),
    ]);
    expect(report.results.map((r) => r.ownerOk)).toEqual([true, true, false]);
  });

  it("checks when the owner's hours start, at the case's own time", async () => {
    const { deps } = await testDeps();
    const friday = { payload: payloadOf("L012"), at: "2026-10-02T17:40:00Z", expectedOwner: "jonas.weber" };
    const report = await evaluateCases(deps, [
      { id: "right", ...friday, expectedAvailableFrom: "2026-10-05T06:30:00.000Z" },
      { id: "wrong", ...friday, expectedAvailableFrom: "2026-10-05T07:30:00.000Z" },
    ]);
    expect(report.results.map((r) => r.ownerOk)).toEqual([true, false]);
    expect(report.results[0]?.state?.receivedAt).toBe("2026-10-02T17:40:00.000Z");
  });

  it("gives each case its own CRM contact, earlier route and counts, and forgets them after", async () => {
    const { deps } = await testDeps();
    const at = "2026-10-06T15:00:00Z";
    const report = await evaluateCases(deps, [
      pooled({ id: "contact", at, given: { crmContactOwner: "70003" }, expectedOwner: "sofia.reyes" }),
      pooled({
        id: "returning",
        at,
        given: { routedBefore: { owner: "liam.oconnor", at: "2026-09-30T10:00:00Z" } },
        expectedOwner: "liam.oconnor",
      }),
      pooled({
        id: "capped",
        at,
        given: { assigned: { "maya.patel": { "2026-10-06": 40 } } },
        expectedOwner: "liam.oconnor",
      }),
      pooled({ id: "plain", at, expectedOwner: "maya.patel" }),
    ]);
    expect(report.misses.map((m) => m.case.id)).toEqual([]);
    expect(report.results[0]?.state?.route?.ruleName).toBe("existing-contact");
    expect(report.results[1]?.state?.route?.ruleName).toBe("returning-lead");
  });

  it("reports a case whose time is not a time, by its id", async () => {
    const { deps } = await testDeps();
    const report = await evaluateCases(deps, [pooled({ id: "bad", at: "next friday", expectedOwner: "x" })]);
    expect(report.results[0]?.error).toBe('case bad: "at" must be an ISO time, got next friday');
  });
});
