/**
 * The service as one process, per profile: the highest offered rate it keeps up with, against the graph
 * alone measured in the same run.
 *
 * The service runs in a child process exactly as `npm start` builds it (HTTP host and queue worker, info
 * logs to /dev/null), on the embedded profile (SQLite in a temporary DATA_DIR) or the Redis profile (a
 * private redis-server). This process offers leads at a fixed rate (open loop: a request is sent when it is
 * due, whether or not earlier ones were answered) to POST /webhooks/lead over keep-alive connections, and
 * the child reports when each lead's owner was notified and when it settled (its runner's lead events: completed,
 * or awaiting its owner's decision).
 * A rate is kept up with when, over a window of `--duration` seconds, every webhook answered 202, every lead
 * completed within `--grace` seconds of the window's end (the queue stayed bounded), and the 95th percentile
 * of speed-to-lead (202 received → owner notified) is at most 250 ms. The search starts at half the
 * graph-alone rate, climbs by 10% while rates pass, steps down by 15% while they fail, and once it has a rate
 * kept up with and one not, tries the one halfway until the two are within 5% of each other.
 *
 * "Graph alone" is bench/graph.ts's one-thread figure: the whole graph in this process, in-memory
 * checkpointer, local adapters in memory, concurrency 16.
 *
 * `--worker-threads N` is an experiment, not a way the service is deployed: the child's main thread takes
 * leads in (host and intake, no worker) and N worker threads each run a worker runtime of their own (their
 * own SQLite connection on the same file, or their own Redis connections), as `leadgraph worker` processes
 * would, inside the one process.
 *
 * Usage: node bench/service.ts [--profile embedded|redis|both] [--duration 8] [--grace 3]
 *        [--concurrency <WORKER_CONCURRENCY>] [--max-steps 8] [--cpu-prof-dir dir] [--worker-threads 0]
 */
import { type ChildProcess, fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent } from "node:http";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parentPort, Worker } from "node:worker_threads";
import { pino } from "pino";
import { createGraphDeps } from "../app/adapters.ts";
import { createLogger, silentLogger } from "../app/logger.ts";
import { createRuntime } from "../app/runtime.ts";
import { loadEnv, parseEnv } from "../config/env.ts";
import { loadRevOpsConfig } from "../config/revops.ts";
import { runCases, toCases } from "../graph/batch.ts";
import { buildLeadGraph } from "../graph/build.ts";
import { buildApp } from "../http/app.ts";
import { createMetrics } from "../http/metrics.ts";
import { MemoryCounters, MemoryLedger } from "../store/memory.ts";
import { startRedis } from "../test/helpers/redis-server.ts";
import { cpuSeconds } from "./cpu.ts";
import { postLead } from "./http.ts";
import { distinctLead, SAMPLES, settlesLead } from "./samples.ts";

const { values } = parseArgs({
  options: {
    profile: { type: "string", default: "both" },
    duration: { type: "string", default: "8" },
    grace: { type: "string", default: "3" },
    concurrency: { type: "string" },
    "max-steps": { type: "string", default: "8" },
    "p95-ms": { type: "string", default: "250" },
    // Profile the service process (a .cpuprofile per service started, written when it stops).
    "cpu-prof-dir": { type: "string" },
    // Internal: the child's role and settings.
    role: { type: "string" },
    "data-dir": { type: "string" },
    redis: { type: "string" },
    worker: { type: "boolean", default: true },
    "worker-threads": { type: "string", default: "0" },
  },
});

const now = () => performance.timeOrigin + performance.now();

/** A lead's progress as the child reports it: [leadId, notified at, completed at] (epoch ms, 0 = not yet). */
type Progress = [string, number, number];

// ---------------------------------------------------------------- child: the service

/** The child's runtime (and each worker thread's), as `npm start` configures it. */
async function childRuntime(worker: boolean) {
  const env = parseEnv({
    DATA_DIR: String(values["data-dir"]),
    LOG_LEVEL: "info",
    // One sender posts every lead: the per-client limit (3,000 a minute) would refuse leads once the steps
    // of a search add up past it.
    WEBHOOK_RATE_LIMIT: "0",
    ...(values.redis ? { REDIS_URL: values.redis } : {}),
    ...(values.concurrency ? { WORKER_CONCURRENCY: values.concurrency } : {}),
  });
  // Production log volume, paid for, into /dev/null through pino's asynchronous destination.
  const destination = pino.destination({ dest: "/dev/null", sync: false });
  const logger = createLogger({
    level: "info",
    destination: destination as unknown as NodeJS.WritableStream,
  });
  const metrics = createMetrics();
  const runtime = await createRuntime(env, { logger, worker, metrics });
  return { env, logger, metrics, runtime };
}

/** Collects when each lead was notified and settled, and hands the news to `send` every `everyMs`. */
function progressReporter(
  runtime: Awaited<ReturnType<typeof createRuntime>>,
  send: (progress: Progress[]) => void,
  everyMs: number,
) {
  const pending = new Map<string, Progress>();
  const progress = (leadId: string) => {
    let p = pending.get(leadId);
    if (!p) {
      p = [leadId, 0, 0];
      pending.set(leadId, p);
    }
    return p;
  };
  const merge = (news: Progress[]) => {
    for (const [leadId, notifiedAt, settledAt] of news) {
      const p = progress(leadId);
      if (notifiedAt) p[1] = notifiedAt;
      if (settledAt) p[2] = settledAt;
    }
  };
  runtime.subscribe((event) => {
    if (event.type === "lead.notified") progress(event.leadId)[1] = now();
    else if (settlesLead(event.type) && "leadId" in event) progress(event.leadId)[2] = now();
  });
  const timer = setInterval(() => {
    if (pending.size === 0) return;
    send([...pending.values()]);
    pending.clear();
  }, everyMs);
  return { merge, stop: () => clearInterval(timer) };
}

/** A worker thread of `--worker-threads`: a worker runtime reporting its leads' progress to the main thread. */
async function workerThread(): Promise<void> {
  const { runtime } = await childRuntime(true);
  progressReporter(runtime, (progress) => parentPort?.postMessage(progress), 20);
}

async function serve(): Promise<void> {
  const threads = Number(values["worker-threads"]);
  const { env, logger, metrics, runtime } = await childRuntime(threads > 0 ? false : values.worker);
  const reporter = progressReporter(runtime, (progress) => process.send?.(progress), 50);
  for (let i = 0; i < threads; i++) {
    const thread = new Worker(new URL(import.meta.url), {
      argv: [
        "--role",
        "worker-thread",
        ...process.argv.slice(2).filter((a, j, all) => a !== "--role" && all[j - 1] !== "--role"),
      ],
    });
    thread.on("message", (progress: Progress[]) => reporter.merge(progress));
    thread.on("error", (err) => console.error(`worker thread failed: ${err.message}`));
  }
  const app = await buildApp({ service: runtime.service, env, logger, metrics });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  process.send?.({ port: typeof address === "object" && address ? address.port : 0 });
  process.once("SIGTERM", () => {
    reporter.stop();
    void app
      .close()
      .then(() => runtime.close({ timeoutMs: 5000 }))
      .finally(() => process.exit(0));
  });
}

// ---------------------------------------------------------------- parent: graph alone

async function graphAlone(seconds: number): Promise<number> {
  const env = loadEnv();
  const runtime = await createGraphDeps(env, {
    logger: silentLogger,
    counters: new MemoryCounters(),
    ledger: new MemoryLedger(),
    config: loadRevOpsConfig(env, { logger: silentLogger }),
  });
  const graph = buildLeadGraph(runtime.deps);
  const samples = toCases(JSON.parse(readFileSync(`${env.FIXTURES_DIR}/leads_sample.json`, "utf8")));
  const batch = Array.from(
    { length: 400 },
    (_, i) => samples[i % samples.length] as (typeof samples)[number],
  );
  await runCases(graph, batch, { concurrency: 16 });
  let leads = 0;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    await runCases(graph, batch, { concurrency: 16 });
    leads += batch.length;
  }
  const rate = leads / ((performance.now() - started) / 1000);
  await runtime.close();
  return rate;
}

// ---------------------------------------------------------------- parent: load and measurement

interface Service {
  child: ChildProcess;
  port: number;
  progress: Map<string, { notifiedAt: number; completedAt: number }>;
  stop(): Promise<void>;
}

async function startService(args: string[]): Promise<Service> {
  const child = fork(new URL(import.meta.url).pathname, ["--role", "service", ...args], {
    execArgv: values["cpu-prof-dir"] ? ["--cpu-prof", `--cpu-prof-dir=${values["cpu-prof-dir"]}`] : [],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const progress = new Map<string, { notifiedAt: number; completedAt: number }>();
  const port = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`service exited with ${code}`)));
    child.on("message", (message) => {
      if (Array.isArray(message)) {
        for (const [leadId, notifiedAt, completedAt] of message as Progress[]) {
          const seen = progress.get(leadId) ?? { notifiedAt: 0, completedAt: 0 };
          if (notifiedAt) seen.notifiedAt = notifiedAt;
          if (completedAt) seen.completedAt = completedAt;
          progress.set(leadId, seen);
        }
      } else if (message && typeof message === "object" && "port" in message) {
        resolve(Number((message as { port: number }).port));
      }
    });
  });
  return {
    child,
    port,
    progress,
    stop: () =>
      new Promise<void>((resolve) => {
        child.removeAllListeners("exit");
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

/** Posts a lead and reads the id it was given. */
async function post(port: number, body: string): Promise<{ status: number; leadId?: string }> {
  const { status, text } = await postLead(agent, port, body);
  try {
    return { status, leadId: (JSON.parse(text) as { leadId?: string }).leadId };
  } catch {
    return { status };
  }
}

interface Step {
  rate: number;
  offered: number;
  accepted: number;
  rejected: number;
  notified: number;
  incomplete: number;
  speedToLeadMs: { p50: number; p95: number; p99: number };
  webhookMs: { p50: number; p99: number };
  /**
   * Cores busy while the leads were offered: the service process (all its threads) and this one (the
   * sender and graph-alone's idle runtime), from /proc; and the service's CPU per lead accepted, from
   * the first offer until the leads settled (or the grace ran out).
   */
  cores: { service: number; bench: number };
  serviceCpuMsPerLead: number;
  ok: boolean;
}

const pct = (sorted: number[], q: number) =>
  sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);
const round = (n: number) => (Number.isFinite(n) ? Math.round(n * 10) / 10 : n);

let serial = 0;

/** Offers `rate` leads/s for `seconds`, then waits up to `grace` seconds for every lead to complete. */
async function offer(service: Service, rate: number, seconds: number, grace: number, p95Ms: number) {
  const run = randomUUID().slice(0, 8);
  const accepted = new Map<string, number>();
  const webhook: number[] = [];
  let rejected = 0;
  let sent = 0;
  const inFlight: Promise<void>[] = [];
  const serviceCpuAtStart = cpuSeconds(service.child.pid);
  const benchCpuAtStart = process.cpuUsage();
  const started = now();
  const total = Math.round(rate * seconds);
  while (sent < total) {
    const due = Math.min(total, Math.floor(((now() - started) / 1000) * rate) + 1);
    for (; sent < due; sent++) {
      const i = serial++;
      const body = JSON.stringify(distinctLead(SAMPLES[i % SAMPLES.length] ?? {}, `svc-${run}-${i}`));
      const at = now();
      inFlight.push(
        post(service.port, body).then(({ status, leadId }) => {
          const answered = now();
          webhook.push(answered - at);
          if (status === 202 && leadId) accepted.set(leadId, answered);
          else rejected++;
        }),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const windowSeconds = (now() - started) / 1000;
  const serviceCpuInWindow = cpuSeconds(service.child.pid) - serviceCpuAtStart;
  const benchCpuInWindow = process.cpuUsage(benchCpuAtStart);
  await Promise.all(inFlight);
  const deadline = now() + grace * 1000;
  const done = () => [...accepted.keys()].every((id) => (service.progress.get(id)?.completedAt ?? 0) > 0);
  while (!done() && now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  const serviceCpu = cpuSeconds(service.child.pid) - serviceCpuAtStart;
  const latencies: number[] = [];
  let incomplete = 0;
  for (const [leadId, at] of accepted) {
    const p = service.progress.get(leadId);
    if (!p?.completedAt) {
      incomplete++;
      latencies.push(Number.POSITIVE_INFINITY);
    } else if (p.notifiedAt) latencies.push(p.notifiedAt - at);
  }
  latencies.sort((a, b) => a - b);
  webhook.sort((a, b) => a - b);
  const step: Step = {
    rate: Math.round(rate),
    offered: total,
    accepted: accepted.size,
    rejected,
    notified: latencies.filter(Number.isFinite).length,
    incomplete,
    speedToLeadMs: {
      p50: round(pct(latencies, 0.5)),
      p95: round(pct(latencies, 0.95)),
      p99: round(pct(latencies, 0.99)),
    },
    webhookMs: { p50: round(pct(webhook, 0.5)), p99: round(pct(webhook, 0.99)) },
    cores: {
      service: Number((serviceCpuInWindow / windowSeconds).toFixed(2)),
      bench: Number(((benchCpuInWindow.user + benchCpuInWindow.system) / 1e6 / windowSeconds).toFixed(2)),
    },
    serviceCpuMsPerLead: round((serviceCpu * 1000) / Math.max(1, accepted.size)),
    ok: rejected === 0 && incomplete === 0 && pct(latencies, 0.95) <= p95Ms,
  };
  // Let a failed step's backlog drain before the next one.
  const drainDeadline = now() + 30_000;
  while (!done() && now() < drainDeadline) await new Promise((resolve) => setTimeout(resolve, 100));
  return step;
}

async function profileRun(profile: "embedded" | "redis", graphRate: number) {
  const dataDir = mkdtempSync(join(tmpdir(), `leadgraph-service-${profile}-`));
  const redis = profile === "redis" ? await startRedis() : undefined;
  const args = ["--data-dir", dataDir];
  if (redis) args.push("--redis", redis.url);
  if (values.concurrency) args.push("--concurrency", values.concurrency);
  args.push("--worker-threads", String(values["worker-threads"]));
  const service = await startService(args);
  const seconds = Number(values.duration);
  const grace = Number(values.grace);
  const p95Ms = Number(values["p95-ms"]);
  try {
    // Warm-up: module loading, JIT, SQLite pages and Redis scripts.
    await offer(service, Math.max(20, graphRate * 0.3), 4, 10, Number.POSITIVE_INFINITY);
    const steps: Step[] = [];
    let rate = graphRate * 0.5;
    // The highest rate kept up with and the lowest not: once both are known, halve the gap until it is
    // within 5% (or the steps run out).
    let passed = 0;
    let failed = Number.POSITIVE_INFINITY;
    for (let i = 0; i < Number(values["max-steps"]); i++) {
      const step = await offer(service, rate, seconds, grace, p95Ms);
      steps.push(step);
      console.error(`${profile}: ${JSON.stringify(step)}`);
      if (step.ok) passed = Math.max(passed, step.rate);
      else failed = Math.min(failed, step.rate);
      if (passed > 0 && failed / passed <= 1.05) break;
      rate = Number.isFinite(failed) ? (passed > 0 ? (passed + failed) / 2 : failed * 0.85) : rate * 1.1;
    }
    const best = passed;
    return {
      profile,
      concurrency: values.concurrency ?? "default",
      workerThreads: Number(values["worker-threads"]),
      sustainedLeadsPerSecond: best,
      ratioToGraphAlone: Number((best / graphRate).toFixed(2)),
      steps,
    };
  } finally {
    await service.stop();
    await redis?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (values.role === "service") {
  await serve();
} else if (values.role === "worker-thread") {
  await workerThread();
} else {
  const profiles = values.profile === "both" ? (["embedded", "redis"] as const) : [values.profile];
  const before = loadavg()[0];
  const graphRate = await graphAlone(6);
  console.error(`graph alone: ${Math.round(graphRate)} leads/s`);
  const results = [];
  for (const profile of profiles) results.push(await profileRun(profile as "embedded" | "redis", graphRate));
  const after = await graphAlone(6);
  console.log(
    JSON.stringify({
      bench: "service",
      graphAloneLeadsPerSecond: { before: Math.round(graphRate), after: Math.round(after) },
      target: "sustained >= 0.7 x graph alone, p95 speed-to-lead <= 250 ms",
      results: results.map(({ steps, ...r }) => ({
        ...r,
        ratioToGraphAlone: Number((r.sustainedLeadsPerSecond / ((graphRate + after) / 2)).toFixed(2)),
        atBest: steps.find((s) => s.rate === r.sustainedLeadsPerSecond),
      })),
      loadavg1: { start: Number(before?.toFixed(2)), end: Number(loadavg()[0]?.toFixed(2)) },
      node: process.version,
    }),
  );
  agent.destroy();
}
