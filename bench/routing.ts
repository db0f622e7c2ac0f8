/**
 * The graph at 5,000 routing rules against the graph at 10, in alternating slices in one process, so the
 * machine's load hits both alike. Both configs end with the same ten rules (the first nine shipped rules and
 * a catch-all), so every lead takes the same path either way; the 5,000-rule config puts 4,990 territory
 * rules that no fixture lead matches in front of them (country and postal prefix, industry and size band,
 * region and source), so each lead is checked against all of them: the worst case for the engine.
 * Also reported: the engine alone per lead with and without the rule-by-rule explanation, and what the route
 * weighs in the lead's state.
 * Usage: node bench/routing.ts [--rules 5000] [--slices 6] [--slice-leads 500] [--concurrency 16]
 */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { MemorySaver } from "@langchain/langgraph";
import { createGraphDeps } from "../app/adapters.ts";
import { silentLogger } from "../app/logger.ts";
import { loadEnv } from "../config/env.ts";
import { loadRevOpsConfig } from "../config/revops.ts";
import { parseRoutingConfig } from "../config/routing.ts";
import { factsFromState, routeLead } from "../domain/routing/engine.ts";
import type { RoutingConfig } from "../domain/routing/schema.ts";
import { runCases, toCases } from "../graph/batch.ts";
import { buildLeadGraph } from "../graph/build.ts";
import type { LeadState } from "../graph/state.ts";
import { MemoryCounters, MemoryLedger } from "../store/memory.ts";

const { values } = parseArgs({
  options: {
    rules: { type: "string", default: "5000" },
    slices: { type: "string", default: "6" },
    "slice-leads": { type: "string", default: "500" },
    concurrency: { type: "string", default: "16" },
  },
});
const RULES = Number(values.rules);
const SLICES = Number(values.slices);
const SLICE_LEADS = Number(values["slice-leads"]);
const CONCURRENCY = Number(values.concurrency);

const shipped = JSON.parse(readFileSync("config/routing.json", "utf8")) as {
  owners: Array<{ id: string }>;
  rules: unknown[];
};
const ownerIds = shipped.owners.map((o) => o.id);
const TAIL = [
  ...shipped.rules.slice(0, 9),
  { name: "catch-all", when: {}, assign: { type: "pool", pool: "emea" } },
];
const COUNTRIES = ["US", "CA", "DE", "FR", "GB", "JP", "BR", "AU", "IN", "NL"];
const INDUSTRIES = ["software", "fintech", "retail", "healthcare", "logistics", "manufacturing"];

/** Rule `i` of the filler: realistic conditions, one of which no fixture lead meets. */
function filler(i: number) {
  const owner = ownerIds[i % ownerIds.length];
  const when =
    i % 3 === 0
      ? { country: [COUNTRIES[i % COUNTRIES.length]], postalPrefix: [`Q${i}`] }
      : i % 3 === 1
        ? { industry: [INDUSTRIES[i % INDUSTRIES.length]], employees: { min: 10_000_000 + i } }
        : { region: ["EMEA", "APAC"], source: [`campaign-${i}`] };
  return { name: `territory-${i}`, when, assign: { type: "owner", owner } };
}

function routingWith(ruleCount: number): RoutingConfig {
  const json = structuredClone(JSON.parse(readFileSync("config/routing.json", "utf8")));
  json.rules = [...Array.from({ length: ruleCount - TAIL.length }, (_, i) => filler(i)), ...TAIL];
  const parsed = parseRoutingConfig(json);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors.slice(0, 3)));
  return parsed.config;
}

async function graphFor(routing: RoutingConfig) {
  const env = loadEnv();
  const config = loadRevOpsConfig(env, { logger: silentLogger });
  const runtime = await createGraphDeps(env, {
    logger: silentLogger,
    counters: new MemoryCounters(),
    ledger: new MemoryLedger(),
    config,
  });
  const deps = { ...runtime.deps, routing: () => routing };
  return { graph: buildLeadGraph(deps, { checkpointer: new MemorySaver() }), deps };
}

const samples = toCases(JSON.parse(readFileSync("fixtures/leads_sample.json", "utf8")));
const cases = Array.from(
  { length: SLICE_LEADS },
  (_, i) => samples[i % samples.length] as (typeof samples)[number],
);

const small = routingWith(10);
const large = routingWith(RULES);
const runs = { small: await graphFor(small), large: await graphFor(large) };
// Same paths both ways: the filler never matches a fixture lead.
const [a, b] = [await runCases(runs.small.graph, samples), await runCases(runs.large.graph, samples)];
const routeOf = (o: (typeof a)[number]) => (o.ok ? [o.state.route?.ruleName, o.state.path] : ["error"]);
if (JSON.stringify(a.map(routeOf)) !== JSON.stringify(b.map(routeOf)))
  throw new Error("the two configs route the fixture leads differently");

// Warm-up, then alternating slices.
for (const run of [runs.small, runs.large]) await runCases(run.graph, cases, { concurrency: CONCURRENCY });
const seconds = { small: 0, large: 0 };
for (let slice = 0; slice < SLICES; slice++) {
  for (const key of slice % 2 === 0 ? (["small", "large"] as const) : (["large", "small"] as const)) {
    const started = performance.now();
    const outcomes = await runCases(runs[key].graph, cases, { concurrency: CONCURRENCY });
    seconds[key] += (performance.now() - started) / 1000;
    if (outcomes.some((o) => !o.ok)) throw new Error(`${key}: a lead failed`);
  }
}
const leads = SLICES * SLICE_LEADS;
const rate = { small: leads / seconds.small, large: leads / seconds.large };

// The engine alone, on the routed states, with and without the rule-by-rule explanation.
const states = b.flatMap((o) => (o.ok ? [o.state as LeadState] : []));
async function engineMs(routing: RoutingConfig, explain: boolean): Promise<number> {
  const counters = new MemoryCounters();
  const rounds = 5;
  const started = performance.now();
  for (let r = 0; r < rounds; r++)
    for (const state of states)
      await routeLead(factsFromState(state, { existingAccount: false }), routing, {
        counters,
        now: new Date(),
        explain,
      });
  return (performance.now() - started) / (rounds * states.length);
}
const routeBytes = (outcomes: typeof a) =>
  Math.round(
    outcomes.reduce((n, o) => n + (o.ok ? JSON.stringify(o.state.route).length : 0), 0) / outcomes.length,
  );

console.log(
  JSON.stringify({
    bench: "routing",
    concurrency: CONCURRENCY,
    leadsPerConfig: leads,
    graphLeadsPerSecond: { rules10: Math.round(rate.small), [`rules${RULES}`]: Math.round(rate.large) },
    ratio: Number((rate.large / rate.small).toFixed(2)),
    target: "ratio >= 0.8",
    engineMsPerLead: {
      [`rules${RULES}Brief`]: Number((await engineMs(large, false)).toFixed(3)),
      [`rules${RULES}Explained`]: Number((await engineMs(large, true)).toFixed(3)),
      rules10Brief: Number((await engineMs(small, false)).toFixed(3)),
    },
    routeBytesInState: { rules10: routeBytes(a), [`rules${RULES}`]: routeBytes(b) },
    loadavg1: Number(loadavg()[0]?.toFixed(2)),
    node: process.version,
  }),
);
