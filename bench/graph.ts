/**
 * Leads per second through the whole graph, offline, with the in-memory checkpointer and local adapters.
 * Node runs a graph on one thread, and the service scales by worker processes, so the bench measures one
 * thread and then one thread per core, each with its own graph and adapters (as separate workers would).
 * Usage: npm run bench:graph -- [--leads 3000] [--concurrency 16] [--threads N]
 */
import { readFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { createGraphDeps } from "../app/adapters.ts";
import { silentLogger } from "../app/logger.ts";
import { loadEnv } from "../config/env.ts";
import { loadRevOpsConfig } from "../config/revops.ts";
import { runCases, toCases } from "../graph/batch.ts";
import { buildLeadGraph } from "../graph/build.ts";
import { MemoryCounters, MemoryLedger } from "../store/memory.ts";

interface Job {
  leads: number;
  concurrency: number;
}

interface Result {
  leads: number;
  seconds: number;
  failed: number;
  adapters: string;
}

/** One graph with its own adapters: warm up, then run `leads` leads and time them. */
async function runGraph(job: Job, ready?: () => Promise<void>): Promise<Result> {
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
    { length: job.leads },
    (_, i) => samples[i % samples.length] as (typeof samples)[number],
  );
  // Warm-up: module loading and JIT should not count.
  await runCases(graph, cases.slice(0, 200), { concurrency: job.concurrency });
  await ready?.();
  const started = performance.now();
  const outcomes = await runCases(graph, cases, { concurrency: job.concurrency });
  const seconds = (performance.now() - started) / 1000;
  await runtime.close();
  return {
    leads: job.leads,
    seconds,
    failed: outcomes.filter((o) => !o.ok).length,
    adapters: runtime.adapters.map((a) => `${a.port}=${a.adapter}`).join(" "),
  };
}

/** N threads start timing together (after their warm-up) and the wall time covers all of them. */
async function runThreads(threads: number, job: Job): Promise<{ seconds: number; results: Result[] }> {
  const workers = Array.from(
    { length: threads },
    () => new Worker(new URL(import.meta.url), { workerData: job }),
  );
  const warmed = workers.map((w) => new Promise<void>((resolve) => w.once("message", () => resolve())));
  await Promise.all(warmed);
  const started = performance.now();
  const done = workers.map(
    (w) =>
      new Promise<Result>((resolve, reject) => {
        w.once("message", resolve);
        w.once("error", reject);
      }),
  );
  for (const w of workers) w.postMessage("go");
  const results = await Promise.all(done);
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(workers.map((w) => w.terminate()));
  return { seconds, results };
}

if (isMainThread) {
  const { values } = parseArgs({
    options: {
      leads: { type: "string", default: "3000" },
      concurrency: { type: "string", default: "16" },
      threads: { type: "string", default: String(availableParallelism()) },
    },
  });
  const job: Job = { leads: Number(values.leads), concurrency: Number(values.concurrency) };
  const threads = Number(values.threads);

  const single = await runGraph(job);
  const multi = await runThreads(threads, job);
  const total = multi.results.reduce((n, r) => n + r.leads, 0);
  console.log(
    JSON.stringify({
      bench: "graph",
      checkpointer: "memory",
      adapters: single.adapters,
      concurrency: job.concurrency,
      oneThread: {
        leads: job.leads,
        seconds: Number(single.seconds.toFixed(3)),
        leadsPerSecond: Math.round(job.leads / single.seconds),
      },
      threads: {
        threads,
        leads: total,
        seconds: Number(multi.seconds.toFixed(3)),
        leadsPerSecond: Math.round(total / multi.seconds),
      },
      failed: single.failed + multi.results.reduce((n, r) => n + r.failed, 0),
      loadavg1: Number(loadavg()[0]?.toFixed(2)),
      node: process.version,
    }),
  );
} else {
  const port = parentPort;
  if (port === null) throw new Error("bench worker without a parent port");
  const result = await runGraph(workerData as Job, async () => {
    const go = new Promise<void>((resolve) => port.once("message", () => resolve()));
    port.postMessage("warm");
    await go;
  });
  port.postMessage(result);
}
