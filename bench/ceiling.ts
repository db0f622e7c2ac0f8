/**
 * The lead graph against LangGraph's own ceiling on this machine: a trivial graph of seven nodes in a line,
 * each adding one to a number, on the same LangGraph version with a MemorySaver as it comes. Both run the
 * same way (`invoke`, a fresh thread per lead, concurrency 16, in-memory checkpointer, default durability) in
 * alternating slices in one process, so the machine's load weighs on both alike; the lead graph is built
 * as `buildLeadGraph` builds it (its MemorySaver writes with graph/checkpoint/serde.ts, as LeadGraph's own
 * savers do) on the local adapters in memory (hashing embedder, in-process index, local CRM and outbox).
 *
 * The trivial graph's time per lead is what LangGraph spends on any seven-step run (tasks, channels, config
 * merging, the run tree each node call creates, checkpoints). Two more graphs split the lead graph's extra
 * time: the trivial nodes on LeadState's sixteen channels (what the channels cost), and the lead graph's
 * own topology replaying what its nodes wrote for each lead (what the lead's data costs LangGraph and the
 * checkpointer); the rest is the nodes' own work. Printed: the rates, the headline ratio, and the split in
 * microseconds per lead.
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
import { FastJsonSerializer } from "../graph/checkpoint/serde.ts";
import { pathAfterRouting } from "../graph/edges.ts";
import { type LeadState, LeadStateAnnotation } from "../graph/state.ts";
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

/**
 * The same seven trivial nodes on LeadState's channels: each node writes one small field, so the gap to
 * the trivial graph is what LangGraph spends per channel (reads, checkpoints, versions), not node work.
 */
function trivialOnLeadState() {
  const writes: Array<Partial<LeadState>> = [
    { source: "generic" },
    { path: "qualified" },
    { summary: { bullets: ["a"], generatedBy: "x" } },
    { crm: { contactId: "c" } },
    { warnings: [{ node: "n", code: "c", message: "m" }] },
    { similarAccounts: [] },
    { notifications: [] },
  ];
  let builder = new StateGraph(LeadStateAnnotation) as unknown as StateGraph<typeof LeadStateAnnotation.spec>;
  const names = ["a", "b", "c", "d", "e", "f", "g"];
  names.forEach((name, i) => {
    builder = builder.addNode(name, async () => writes[i] ?? {}) as typeof builder;
  });
  let wired = builder.addEdge("__start__", "a" as never);
  for (let i = 0; i < names.length - 1; i++) wired = wired.addEdge(names[i] as never, names[i + 1] as never);
  return wired.addEdge("g" as never, "__end__").compile({ checkpointer: new MemorySaver() });
}

/**
 * The lead graph's topology (eight nodes, the branch after routing) replaying, for each lead, the updates
 * its real nodes wrote: the lead's data goes through LangGraph and the checkpointer as in a real run, but
 * no node does any work. The gap to the real graph is the nodes' own work.
 */
function replayGraph(updates: Map<string, Record<string, Partial<LeadState>>>) {
  const replay = (node: string) => async (state: LeadState) => updates.get(state.leadId)?.[node] ?? {};
  return new StateGraph(LeadStateAnnotation)
    .addNode("capture", replay("capture"))
    .addNode("enrich", replay("enrich"))
    .addNode("scoreLead", replay("scoreLead"))
    .addNode("routeLead", replay("routeLead"))
    .addNode("summarize", replay("summarize"))
    .addNode("notifyOwner", replay("notifyOwner"))
    .addNode("nurtureLead", replay("nurtureLead"))
    .addNode("syncCrm", replay("syncCrm"))
    .addEdge("__start__", "capture")
    .addEdge("capture", "enrich")
    .addEdge("enrich", "scoreLead")
    .addEdge("scoreLead", "routeLead")
    .addConditionalEdges("routeLead", pathAfterRouting, ["summarize", "nurtureLead"])
    .addEdge("summarize", "notifyOwner")
    .addEdge("notifyOwner", "syncCrm")
    .addEdge("nurtureLead", "syncCrm")
    .addEdge("syncCrm", "__end__")
    .compile({ checkpointer: new MemorySaver(new FastJsonSerializer()) });
}

async function pool(count: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) await task(i);
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
// The graph's own default: a MemorySaver with the checkpoint serializer LeadGraph's savers use.
const leadGraph = buildLeadGraph(runtime.deps);
const trivial = trivialGraph();
const trivialLeadState = trivialOnLeadState();
const samples = toCases(JSON.parse(readFileSync("fixtures/leads_sample.json", "utf8")));
const cases = Array.from(
  { length: SLICE_LEADS },
  (_, i) => samples[i % samples.length] as (typeof samples)[number],
);

// What each fixture lead's nodes write, for the replay graph.
const recorded: Array<Record<string, Partial<LeadState>>> = [];
for (const c of samples) {
  const leadId = randomUUID();
  const updates: Record<string, Partial<LeadState>> = {};
  const input = { leadId, receivedAt: new Date().toISOString(), raw: c.payload };
  for await (const chunk of await leadGraph.stream(input, {
    configurable: { thread_id: leadId },
    streamMode: "updates",
  }))
    Object.assign(updates, chunk);
  recorded.push(updates);
}
const replaying = new Map<string, Record<string, Partial<LeadState>>>();
const replay = replayGraph(replaying);

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
  trivialLeadState: () =>
    pool(SLICE_LEADS, async () => {
      const leadId = randomUUID();
      const raw = cases[0]?.payload;
      await trivialLeadState.invoke(
        { leadId, receivedAt: new Date().toISOString(), raw },
        { configurable: { thread_id: leadId } },
      );
    }),
  replay: () =>
    pool(SLICE_LEADS, async (i) => {
      const leadId = randomUUID();
      const index = i % samples.length;
      replaying.set(leadId, recorded[index] ?? {});
      const input = { leadId, receivedAt: new Date().toISOString(), raw: samples[index]?.payload };
      await replay.invoke(input, { configurable: { thread_id: leadId } });
      replaying.delete(leadId);
    }),
};

// Warm-up: module loading and JIT should not count.
await runs.lead();
await runs.trivial();
await runs.trivialLeadState();
await runs.replay();
const seconds = { lead: 0, trivial: 0, trivialLeadState: 0, replay: 0 };
const order = ["lead", "trivial", "trivialLeadState", "replay"] as const;
for (let slice = 0; slice < SLICES; slice++) {
  for (const key of slice % 2 === 0 ? order : [...order].reverse()) {
    const started = performance.now();
    await runs[key]();
    seconds[key] += (performance.now() - started) / 1000;
  }
}
const leads = SLICES * SLICE_LEADS;
const rate = {
  lead: leads / seconds.lead,
  trivial: leads / seconds.trivial,
  trivialLeadState: leads / seconds.trivialLeadState,
  replay: leads / seconds.replay,
};
const us = (r: number) => Math.round(1e6 / r);
await runtime.close();
console.log(
  JSON.stringify({
    bench: "ceiling",
    concurrency: CONCURRENCY,
    leadsPerGraph: leads,
    leadsPerSecond: {
      leadGraph: Math.round(rate.lead),
      trivial7Nodes: Math.round(rate.trivial),
      trivial7NodesOnLeadState: Math.round(rate.trivialLeadState),
      leadGraphReplayingItsNodes: Math.round(rate.replay),
    },
    ratio: Number((rate.lead / rate.trivial).toFixed(2)),
    target: "ratio >= 0.8",
    microsecondsPerLead: {
      leadGraph: us(rate.lead),
      trivial7Nodes: us(rate.trivial),
      // What LangGraph spends on LeadState's 16 channels instead of 2, with no node work.
      channels: us(rate.trivialLeadState) - us(rate.trivial),
      // The lead's data through LangGraph and the checkpointer, and the eight-node topology with its branch.
      dataAndTopology: us(rate.replay) - us(rate.trivialLeadState),
      // The nodes' own work.
      nodes: us(rate.lead) - us(rate.replay),
    },
    loadavg1: Number(loadavg()[0]?.toFixed(2)),
    node: process.version,
  }),
);
