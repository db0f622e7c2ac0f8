import { MemorySaver } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { routeLabel } from "../domain/labels.ts";
import { runCases, toCases } from "../graph/batch.ts";
import { buildLeadGraph } from "../graph/build.ts";
import type { LeadState } from "../graph/state.ts";
import type { Enricher, Llm, Notifier } from "../tools/ports.ts";
import { sampleCases, testDeps } from "./helpers/deps.ts";

describe("the lead graph, offline", () => {
  it("takes every sample lead to an owner, a reviewer or nurture, pinging AEs only for qualified leads", async () => {
    const { deps, notifier, crm } = await testDeps();
    const graph = buildLeadGraph(deps, { checkpointer: new MemorySaver() });
    const outcomes = await runCases(graph, toCases(sampleCases()));
    const states = outcomes.map((o) => {
      if (!o.ok) throw o.error;
      return o.state;
    });
    expect(states).toHaveLength(100);
    for (const s of states) {
      expect(routeLabel(s.route)).not.toBe("none");
      expect(s.route?.explanation.length).toBeGreaterThan(0);
      // A lead in review waits for its reviewers before the CRM hears of it.
      if (s.path === "review") expect(s.crm.contactId).toBeUndefined();
      else expect(s.crm.contactId).toBeDefined();
      if (s.path === "nurture") {
        expect(s.notifications).toEqual([]);
        expect(s.crm.nurtureStatus).toBe("NURTURE");
        expect(s.summary).toBeUndefined();
      } else {
        expect(s.notifications).toHaveLength(1);
        expect(s.summary?.bullets.length).toBeGreaterThanOrEqual(6);
        expect(s.summary?.bullets.length).toBeLessThanOrEqual(8);
        expect(s.similarAccounts).toHaveLength(3);
      }
    }
    const pinged = states.filter((s) => s.path !== "nurture").length;
    expect(notifier.sent).toHaveLength(pinged);
    const reviewed = states.filter((s) => s.path === "review").length;
    expect(reviewed).toBeGreaterThan(0);
    expect(crm.calls.filter((c) => c.op === "upsertContact")).toHaveLength(100 - reviewed);
    expect(new Set(states.map((s) => s.path))).toEqual(new Set(["qualified", "review", "nurture"]));
  });

  it("finds similar past accounts in the lead's own industry first", async () => {
    const { deps } = await testDeps();
    const outcomes = await runCases(buildLeadGraph(deps), toCases(sampleCases()));
    let withIndustry = 0;
    let sameIndustryTop = 0;
    for (const o of outcomes) {
      if (!o.ok || o.state.path === "nurture") continue;
      const industry = o.state.enrichment?.values.industry;
      if (!industry) continue;
      withIndustry++;
      if (o.state.similarAccounts[0]?.industry === industry) sameIndustryTop++;
    }
    expect(withIndustry).toBeGreaterThan(20);
    expect(sameIndustryTop).toBe(withIndustry);
  });

  it("resumes a failed lead at the failed node without re-running finished nodes", async () => {
    let enrichCalls = 0;
    const counting: Enricher = {
      name: "counting",
      async enrich() {
        enrichCalls++;
        return null;
      },
    };
    let attempts = 0;
    const flaky: Notifier = {
      name: "flaky",
      async send(message) {
        attempts++;
        if (attempts === 1) throw new Error("slack down");
        return { channel: message.channel ?? "dm", messageId: "m1" };
      },
      // The failed attempt posted nothing.
      async findPosted() {
        return null;
      },
    };
    const base = await testDeps();
    const { deps } = await testDeps({ notifier: flaky, enrichers: [...base.deps.enrichers, counting] });
    const graph = buildLeadGraph(deps, { checkpointer: new MemorySaver() });
    const hot = sampleCases().find((c) => c.expectedTier === "hot" && !c.expectedOwner.startsWith("queue:"));
    const config = { configurable: { thread_id: "lead-resume" } };
    await expect(
      graph.invoke({ leadId: "lead-resume", receivedAt: "2026-11-21T10:00:00Z", raw: hot?.payload }, config),
    ).rejects.toThrow("slack down");
    const snapshot = await graph.getState(config);
    expect(snapshot.next).toEqual(["notifyOwner"]);
    const final = (await graph.invoke(null, config)) as LeadState;
    expect(enrichCalls).toBe(1);
    expect(attempts).toBe(2);
    expect(final.notifications).toEqual([expect.objectContaining({ adapter: "flaky", messageId: "m1" })]);
    expect(final.crm.contactId).toBeDefined();
  });

  it("consults a configured LLM only for grey-zone leads: at most 35% of the fixtures", async () => {
    let consulted = 0;
    const llm: Llm = {
      name: "counting",
      configured: true,
      async assessLead() {
        consulted++;
        return { adjustment: 0, reasons: [] };
      },
      async summarizeLead() {
        return { bullets: ["a", "b", "c", "d", "e", "f"] };
      },
    };
    const { deps } = await testDeps({ llm });
    const outcomes = await runCases(buildLeadGraph(deps), toCases(sampleCases()));
    const grey = outcomes.filter((o) => o.ok && o.state.score?.greyZone).length;
    expect(consulted).toBe(grey);
    expect(consulted).toBeGreaterThan(0);
    expect(consulted / outcomes.length).toBeLessThanOrEqual(0.35);
    // With the LLM settling the grey zone, only the fallback leads still need review.
    const review = outcomes.filter((o) => o.ok && o.state.path === "review");
    expect(review.every((o) => o.ok && o.state.route?.kind === "fallback")).toBe(true);
  });

  it("rejects a lead without a valid email, naming the field", async () => {
    const { deps } = await testDeps();
    const graph = buildLeadGraph(deps);
    await expect(
      graph.invoke(
        { leadId: "bad", receivedAt: "2026-11-21T10:00:00Z", raw: { email: "not-an-email" } },
        { configurable: { thread_id: "bad" } },
      ),
    ).rejects.toMatchObject({ name: "InvalidLeadError", field: "email" });
  });
});
