/**
 * The lead graph against LangGraph's own ceiling on this machine: a trivial graph of seven nodes in a line,
 * each adding one to a number, on the same LangGraph version with a MemorySaver. Both run the same way
 * (`invoke`, a fresh thread per lead, concurrency 16, in-memory checkpointer, default durability) in
 * alternating slices in one process, so the machine's load weighs on both alike; the lead graph uses the
 * local adapters in memory (hashing embedder, in-process index, local CRM and outbox in memory).
 *
 * The trivial graph's time per lead is what LangGraph spends on any seven-step run (tasks, channels, config
 * merging, the run tree each node call creates, checkpoints); the lead graph's extra time is its nodes'
 * work and its larger state. Printed: both rates, their ratio, and the per-lead microseconds of each.
 * Usage: node bench/ceiling.ts [--slices 8] [--slice-leads 500] [--concurrency 16]
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { Annotation, MemorySaver, StateGraph } from "@langchain/langgraph";
import { createGraphDeps } from "../app/adapters.ts";
import { silentLogger } from "../app/logger.ts";
import { loadEnv } from "../config/env.ts";
import { loadRevOpsConfig } from "../config/revops.ts";
import { runCases, toCases } from "../graph/batch.ts";
import { buildLeadGraph } from "../graph/build.ts";
import { MemoryCounters, MemoryLedger } from "../store/memory.ts";

const { values } = parseArgs({
  options: {
    slices: { type: "string", default: "8" },
    "slice-leads": { type: "string", default: "500" },
    concurrency: { type: "string", default: "16" },
  },
});
const SLICES = Number(values.slices);
const SLICE_LEADS = Number(values["slice-leads"]);
const CONCURRENCY = Number(values.concurrency);

const Trivial = Annotation.Root({
  leadId: Annotation<string>,
  n: Annotation<number>({ reducer: (_left, right) => right, default: () => 0 }),
});

/** Seven nodes in a line, each adding one. */
function trivialGraph() {
  const step = async (state: typeof Trivial.State) => ({ n: state.n + 1 });
  return new StateGraph(Trivial)
    .addNode("a", step)
    .addNode("b", step)
    .addNode("c", step)
    .addNode("d", step)
    .addNode("e", step)
    .addNode("f", step)
    .addNode("g", step)
    .addEdge("__start__", "a")
    .addEdge("a", "b")
    .addEdge("b", "c")
    .addEdge("c", "d")
    .addEdge("d", "e")
    .addEdge("e", "f")
    .addEdge("f", "g")
    .addEdge("g", "__end__")
    .compile({ checkpointer: new MemorySaver() });
}

async function pool(count: number, task: () => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next++ < count) await task();
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

const env = loadEnv();
const runtime = await createGraphDeps(env, {
  logger: silentLogger,
  counters: new MemoryCounters(),
  ledger: new MemoryLedger(),
  config: loadRevOpsConfig(env, { logger: silentLogger }),
});
const leadGraph = buildLeadGraph(runtime.deps, { checkpointer: new MemorySaver() });
const trivial = trivialGraph();
const samples = toCases(JSON.parse(readFileSync("fixtures/leads_sample.json", "utf8")));
const cases = Array.from(
  { length: SLICE_LEADS },
  (_, i) => samples[i % samples.length] as (typeof samples)[number],
);

const runs = {
  lead: async () => {
    const outcomes = await runCases(leadGraph, cases, { concurrency: CONCURRENCY });
    if (outcomes.some((o) => !o.ok)) throw new Error("a lead failed");
  },
  trivial: () =>
    pool(SLICE_LEADS, async () => {
      const leadId = randomUUID();
      await trivial.invoke({ leadId }, { configurable: { thread_id: leadId } });
    }),
};

// Warm-up: module loading and JIT should not count.
await runs.lead();
await runs.trivial();
const seconds = { lead: 0, trivial: 0 };
for (let slice = 0; slice < SLICES; slice++) {
  for (const key of slice % 2 === 0 ? (["lead", "trivial"] as const) : (["trivial", "lead"] as const)) {
    const started = performance.now();
    await runs[key]();
    seconds[key] += (performance.now() - started) / 1000;
  }
}
const leads = SLICES * SLICE_LEADS;
const rate = { lead: leads / seconds.lead, trivial: leads / seconds.trivial };
await runtime.close();
console.log(
  JSON.stringify({
    bench: "ceiling",
    concurrency: CONCURRENCY,
    leadsPerGraph: leads,
    leadsPerSecond: { leadGraph: Math.round(rate.lead), trivial7Nodes: Math.round(rate.trivial) },
    ratio: Number((rate.lead / rate.trivial).toFixed(2)),
    target: "ratio >= 0.8",
    microsecondsPerLead: {
      leadGraph: Math.round(1e6 / rate.lead),
      trivial7Nodes: Math.round(1e6 / rate.trivial),
      difference: Math.round(1e6 / rate.lead - 1e6 / rate.trivial),
    },
    loadavg1: Number(loadavg()[0]?.toFixed(2)),
    node: process.version,
  }),
);
