/**
 * Leads per second through the whole graph, offline, with the in-memory checkpointer and local adapters.
 * Usage: npm run bench:graph -- [--leads 2000] [--concurrency 16]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadEnv } from "../config/env.ts";
import { runCases, toCases } from "../graph/batch.ts";
import { buildLeadGraph } from "../graph/build.ts";
import { silentLogger } from "../tools/logger.ts";
import { createGraphDeps, loadRevOpsConfig } from "../tools/registry.ts";
import { MemoryCounters, MemoryLedger } from "../tools/store/memory.ts";

const { values } = parseArgs({
  options: { leads: { type: "string", default: "2000" }, concurrency: { type: "string", default: "16" } },
});
const total = Number(values.leads);
const concurrency = Number(values.concurrency);

const env = loadEnv();
const runtime = await createGraphDeps(env, {
  logger: silentLogger,
  counters: new MemoryCounters(),
  ledger: new MemoryLedger(),
  config: loadRevOpsConfig(env, { logger: silentLogger }),
});
const graph = buildLeadGraph(runtime.deps);
const samples = toCases(JSON.parse(readFileSync(`${env.FIXTURES_DIR}/leads_sample.json`, "utf8")));
const cases = Array.from(
  { length: total },
  (_, i) => samples[i % samples.length] as (typeof samples)[number],
);

// Warm-up: module loading and JIT should not count.
await runCases(graph, cases.slice(0, 200), { concurrency });

const started = performance.now();
const outcomes = await runCases(graph, cases, { concurrency });
const seconds = (performance.now() - started) / 1000;
const failed = outcomes.filter((o) => !o.ok).length;
console.log(
  JSON.stringify({
    bench: "graph",
    checkpointer: "memory",
    adapters: runtime.adapters.map((a) => `${a.port}=${a.adapter}`).join(" "),
    leads: total,
    concurrency,
    seconds: Number(seconds.toFixed(3)),
    leadsPerSecond: Math.round(total / seconds),
    failed,
    node: process.version,
  }),
);
await runtime.close();
