/**
 * Scale-out on the Redis profile: how fast 1, 2 and 4 worker processes work off a backlog, intake running
 * in a process of its own.
 *
 * For each run: a fresh Redis database; the intake process (the HTTP host without workers, as
 * `npm start -- --no-worker`) and W worker processes (as `leadgraph worker`, info logs to /dev/null) start.
 * Each worker first works off `--warm` leads (default 200) with the queue running, so the figure is a warm,
 * long-running process's (`--warm 0` times cold processes, each paying its own JIT warm-up). Then, with
 * the BullMQ queue paused, intake takes `--leads` distinct leads through POST /webhooks/lead, so the
 * backlog is complete before any worker sees it; the queue is resumed and the time until the last lead
 * completes is the work-off time. Workers report completions over IPC. The CPU the worker processes and
 * redis-server used during the work-off is printed beside each rate (cores busy, worker CPU per lead).
 * Runs go 1, 2, 4, 4, 2, 1 workers so that a drift in the machine's load weighs on every count alike; each
 * count's figure is the mean of its two runs.
 *
 * Usage: node bench/scale.ts [--leads 2000] [--concurrency <WORKER_CONCURRENCY>] [--counts 1,2,4] [--warm 200]
 */
import { type ChildProcess, fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { Agent } from "node:http";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { pino } from "pino";
import { createLogger } from "../app/logger.ts";
import { createRuntime } from "../app/runtime.ts";
import { parseEnv } from "../config/env.ts";
import { buildApp } from "../http/app.ts";
import { createMetrics } from "../http/metrics.ts";
import { startRedis } from "../test/helpers/redis-server.ts";
import { cpuSeconds } from "./cpu.ts";
import { postLead } from "./http.ts";
import { distinctLead, SAMPLES, settlesLead } from "./samples.ts";

const { values } = parseArgs({
  options: {
    leads: { type: "string", default: "2000" },
    concurrency: { type: "string" },
    counts: { type: "string", default: "1,2,4" },
    // Leads per worker process worked off before the timed backlog (JIT, pools, script cache), as a
    // long-running worker is warm; 0 times cold processes.
    warm: { type: "string", default: "200" },
    // Internal: the child's role and settings.
    role: { type: "string" },
    "data-dir": { type: "string" },
    redis: { type: "string" },
  },
});

function childEnv() {
  return parseEnv({
    DATA_DIR: String(values["data-dir"]),
    LOG_LEVEL: "info",
    REDIS_URL: String(values.redis),
    ...(values.concurrency ? { WORKER_CONCURRENCY: values.concurrency } : {}),
  });
}

function productionLogger() {
  const destination = pino.destination({ dest: "/dev/null", sync: false });
  return createLogger({ level: "info", destination: destination as unknown as NodeJS.WritableStream });
}

/** Child: the intake host, or a worker process that reports each completed lead. */
async function child(role: string): Promise<void> {
  const env = childEnv();
  const logger = productionLogger();
  if (role === "intake") {
    const metrics = createMetrics();
    const runtime = await createRuntime(env, { logger, worker: false, metrics });
    const app = await buildApp({ service: runtime.service, env, logger, metrics });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const address = app.server.address();
    process.send?.({ ready: true, port: typeof address === "object" && address ? address.port : 0 });
    process.once("SIGTERM", () => {
      void app
        .close()
        .then(() => runtime.close())
        .finally(() => process.exit(0));
    });
    return;
  }
  const runtime = await createRuntime(env, { logger, worker: true });
  let completed = 0;
  runtime.subscribe((event) => {
    if (settlesLead(event.type)) completed++;
  });
  const report = setInterval(() => {
    if (completed === 0) return;
    process.send?.({ completed });
    completed = 0;
  }, 20);
  process.send?.({ ready: true });
  process.once("SIGTERM", () => {
    clearInterval(report);
    void runtime.close({ timeoutMs: 5000 }).finally(() => process.exit(0));
  });
}

interface Child {
  process: ChildProcess;
  ready: Promise<{ port?: number }>;
  stop(): Promise<void>;
}

function start(role: string, args: string[], onCompleted: (n: number) => void): Child {
  const proc = fork(new URL(import.meta.url).pathname, ["--role", role, ...args], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const ready = new Promise<{ port?: number }>((resolve, reject) => {
    proc.once("exit", (code) => reject(new Error(`${role} exited with ${code}`)));
    proc.on("message", (message: { ready?: boolean; port?: number; completed?: number }) => {
      if (message.ready) resolve(message);
      if (message.completed) onCompleted(message.completed);
    });
  });
  return {
    process: proc,
    ready,
    stop: () =>
      new Promise<void>((resolve) => {
        proc.removeAllListeners("exit");
        proc.once("exit", () => resolve());
        proc.kill("SIGTERM");
      }),
  };
}

const agent = new Agent({ keepAlive: true, maxSockets: 32 });

/** CPU seconds redis-server has used, from its INFO (Lua scripts included). */
async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info("cpu");
  const read = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return read("used_cpu_user") + read("used_cpu_sys");
}

interface RunFigures {
  rate: number;
  /** Cores busy during the work-off: the worker processes together, and redis-server. */
  workerCores: number;
  redisCores: number;
  /** Worker CPU per lead, ms. */
  workerCpuMsPerLead: number;
}

async function run(workers: number, redisUrl: string, leads: number): Promise<RunFigures> {
  const dataDir = mkdtempSync(join(tmpdir(), "leadgraph-scale-"));
  const args = ["--data-dir", dataDir, "--redis", redisUrl];
  if (values.concurrency) args.push("--concurrency", values.concurrency);
  const queue = new Queue("leads", { connection: { url: redisUrl }, prefix: "lg:bull" });
  const admin = new Redis(redisUrl);
  const children: Child[] = [];
  try {
    await queue.pause();
    const intake = start("intake", args, () => undefined);
    children.push(intake);
    const { port = 0 } = await intake.ready;
    const tag = randomUUID().slice(0, 8);
    const post = async (count: number, prefix: string) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          for (let i = next++; i < count; i = next++) {
            const sample = SAMPLES[i % SAMPLES.length] ?? {};
            const body = JSON.stringify(distinctLead(sample, `${prefix}-${tag}-${i}`));
            const status = (await postLead(agent, port, body)).status;
            if (status !== 202) throw new Error(`intake answered ${status}`);
          }
        }),
      );
    };
    let completed = 0;
    let target = Number.POSITIVE_INFINITY;
    let finished: () => void = () => undefined;
    const done = () =>
      new Promise<void>((resolve) => {
        finished = resolve;
        if (completed >= target) resolve();
      });
    const onCompleted = (n: number) => {
      completed += n;
      if (completed >= target) finished();
    };
    const started: Child[] = Array.from({ length: workers }, () => start("worker", args, onCompleted));
    children.push(...started);
    await Promise.all(started.map((w) => w.ready));
    const warm = Number(values.warm) * workers;
    if (warm > 0) {
      target = warm;
      const warmed = done();
      await queue.resume();
      await post(warm, "warm");
      await warmed;
      await queue.pause();
    }
    await post(leads, "scale");
    completed = 0;
    target = leads;
    const allDone = done();
    const pids = started.map((w) => w.process.pid);
    const workerCpu = () => pids.reduce<number>((sum, pid) => sum + cpuSeconds(pid), 0);
    const cpu0 = { workers: workerCpu(), redis: await redisCpuSeconds(admin) };
    const t0 = performance.now();
    await queue.resume();
    await allDone;
    const seconds = (performance.now() - t0) / 1000;
    const workerSeconds = workerCpu() - cpu0.workers;
    const redisSeconds = (await redisCpuSeconds(admin)) - cpu0.redis;
    return {
      rate: leads / seconds,
      workerCores: workerSeconds / seconds,
      redisCores: redisSeconds / seconds,
      workerCpuMsPerLead: (workerSeconds * 1000) / leads,
    };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    admin.disconnect();
    await queue.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (values.role) {
  await child(values.role);
} else {
  const leads = Number(values.leads);
  const counts = String(values.counts).split(",").map(Number);
  const order = [...counts, ...[...counts].reverse()];
  const redis = await startRedis();
  const load = { start: loadavg()[0] };
  const rates = new Map<number, number[]>();
  const usage = new Map<number, RunFigures[]>();
  try {
    for (const [i, workers] of order.entries()) {
      const figures = await run(workers, `${redis.url}/${i + 1}`, leads);
      console.error(
        `${workers} worker(s): ${Math.round(figures.rate)} leads/s, workers ${figures.workerCores.toFixed(2)} ` +
          `cores (${figures.workerCpuMsPerLead.toFixed(1)} ms CPU a lead), redis-server ${figures.redisCores.toFixed(2)} cores`,
      );
      rates.set(workers, [...(rates.get(workers) ?? []), figures.rate]);
      usage.set(workers, [...(usage.get(workers) ?? []), figures]);
    }
  } finally {
    await redis.stop();
    agent.destroy();
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const perCount = Object.fromEntries([...rates].map(([w, xs]) => [w, Math.round(mean(xs))]));
  const one = mean(rates.get(1) ?? [1]);
  console.log(
    JSON.stringify({
      bench: "scale",
      profile: "redis",
      leads,
      concurrencyPerWorker: values.concurrency ?? "default",
      warmLeadsPerWorker: Number(values.warm),
      leadsPerSecond: perCount,
      speedup: Object.fromEntries([...rates].map(([w, xs]) => [w, Number((mean(xs) / one).toFixed(2))])),
      // What the cores were doing: on a 2-core machine the workers and redis-server share them.
      cores: Object.fromEntries(
        [...usage].map(([w, runs]) => [
          w,
          {
            workers: Number(mean(runs.map((r) => r.workerCores)).toFixed(2)),
            redis: Number(mean(runs.map((r) => r.redisCores)).toFixed(2)),
            workerCpuMsPerLead: Number(mean(runs.map((r) => r.workerCpuMsPerLead)).toFixed(1)),
          },
        ]),
      ),
      targets: "2 workers >= 1.8 x 1; 4 workers not worse than 2",
      loadavg1: { start: Number(load.start?.toFixed(2)), end: Number(loadavg()[0]?.toFixed(2)) },
      node: process.version,
    }),
  );
}
