/**
 * The graph's results on the 100 labelled fixture leads, pinned: score, route with its explanation, path,
 * similar accounts, summary and warnings per lead, and the route of a dry run (preview) of each, as the
 * graph computed them before the performance work of issue 12. Speed work must not change one of them.
 * The leads run one at a time on fresh counters, so round-robin slots are the same on every run; each dry
 * run comes first and reads the counters its real run is about to move.
 */
import { describe, expect, it } from "vitest";
import { buildLeadGraph, previewLead } from "../graph/build.ts";
import type { LeadState } from "../graph/state.ts";
import { MemoryCounters } from "../store/memory.ts";
import { sampleCases, testDeps } from "./helpers/deps.ts";

const RECEIVED_AT = "2026-11-21T10:00:00.000Z";

function pinned(state: LeadState) {
  return {
    score: state.score,
    route: state.route,
    path: state.path,
    // The account records themselves come from fixtures/accounts.json.
    similarAccounts: state.similarAccounts.map((a) => [a.id, a.similarity]),
    summary: state.summary,
    warnings: state.warnings,
  };
}

describe("the graph's results on the fixtures", () => {
  it("are the pinned ones, lead by lead (real runs and dry runs)", async () => {
    const counters = new MemoryCounters();
    const { deps } = await testDeps({ counters });
    const graph = buildLeadGraph(deps);
    const results: Record<string, unknown> = {};
    for (const [i, c] of sampleCases().entries()) {
      const leadId = `fixture-${i + 1}`;
      const input = { leadId, receivedAt: RECEIVED_AT, raw: c.payload };
      // The dry run first: it reads the counters the real run is about to move.
      const preview = await previewLead(deps, input);
      const state = (await graph.invoke(input, { configurable: { thread_id: leadId } })) as LeadState;
      results[c.id] = {
        run: pinned(state),
        preview: { route: preview.route, path: preview.path },
      };
    }
    // One line per lead, so a change shows up as the leads it touched.
    const text = Object.entries(results)
      .map(([id, result]) => `${JSON.stringify(id)}: ${JSON.stringify(result)}`)
      .join(",\n");
    await expect(`{\n${text}\n}\n`).toMatchFileSnapshot("./snapshots/fixture-results.json");
  });
});
