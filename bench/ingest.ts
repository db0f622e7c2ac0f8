/**
 * Intake throughput on loopback, Redis profile: autocannon against POST /webhooks/lead (signature off,
 * per-client rate limit counted in Redis but never reached, validation, idempotency claim, lead stored,
 * BullMQ job) and, in the same run, against a bare Fastify
 * route doing the same Redis writes (a claim, the lead stored, the job added) without validation, key
 * derivation, duplicate handling, metrics or logging. Every request carries a distinct lead. The servers
 * run in a child process so the load generator does not share their event loop; Redis is a private
 * redis-server. The machine's load average is printed with the figures: on a small machine the server,
 * autocannon and redis-server share the cores, so figures from a loaded machine are not comparable.
 *
 * The two routes are measured in alternating slices (`--rounds`, the order flipping each round), so a
 * change in the machine's load during the run weighs on both alike; latency percentiles are computed over
 * every response of a route.
 *
 * `--workers N` starts N worker processes on the same Redis first (`leadgraph worker`, as production runs
 * them, info logs to /dev/null), so intake is measured while the workers run flat out on the growing
 * backlog; the leads they settle in the meantime are counted. The issue-12 target: webhook p99 at most
 * 25 ms at 50 connections while the workers run (`--connections 50 --workers 1`). `--rate R` offers R
 * requests a second over all connections (open loop) instead of as many as the answers allow: at the
 * workers' sustainable rate the backlog stays flat and the workers run as they would in production.
 * autocannon's rate limiter releases each second's requests together at the start of the second (60
 * requests/s are 60 simultaneous requests once a second), so its open-loop tail measures a burst, not a
 * rate. `--paced` sends them evenly instead: request i is due at i / R seconds and goes out on connection
 * i mod N of N keep-alive connections (N = `--connections`), and its latency is counted from when it was
 * due, so a request held back by a busy connection or a late timer counts its wait (no coordinated
 * omission).
 *
 * Usage: node bench/ingest.ts [--duration 10 (s per route)] [--rounds 5] [--connections 20] [--workers 0]
 *        [--rate 0] [--paced]
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { Agent } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import Fastify from "fastify";
import { Redis } from "ioredis";
import { pino } from "pino";
import { createLogger } from "../app/logger.ts";
import { createRuntime } from "../app/runtime.ts";
import { parseEnv } from "../config/env.ts";
import { buildApp } from "../http/app.ts";
import { createMetrics } from "../http/metrics.ts";
import { startRedis } from "../test/helpers/redis-server.ts";
import { postLead } from "./http.ts";
import { distinctLead, SAMPLES } from "./samples.ts";

interface AutocannonResult {
  requests: { average: number; total: number };
  /** Seconds the run lasted. */
  duration: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}
interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}
interface AutocannonInstance {
  on(
    event: "response",
    listener: (client: unknown, statusCode: number, bytes: number, responseTimeMs: number) => void,
  ): void;
}
type Autocannon = (
  options: {
    url: string;
    connections: number;
    /** Requests per second over all connections (open loop); absent: as fast as answers come back. */
    overallRate?: number;
    duration: number;
    requests: Array<AutocannonRequest & { setupRequest?: (req: AutocannonRequest) => AutocannonRequest }>;
  },
  done: (err: Error | null, result: AutocannonResult) => void,
) => AutocannonInstance;
// autocannon ships no type declarations.
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

const { values } = parseArgs({
  options: {
    serve: { type: "boolean", default: false },
    redis: { type: "string" },
    "data-dir": { type: "string" },
    duration: { type: "string", default: "10" },
    rounds: { type: "string", default: "5" },
    connections: { type: "string", default: "20" },
    workers: { type: "string", default: "0" },
    rate: { type: "string", default: "0" },
    paced: { type: "boolean", default: false },
  },
});

/** Child: the real app and the bare baseline on two loopback ports, sharing one runtime (store + queue). */
async function serve(redisUrl: string, dataDir: string): Promise<void> {
  // The per-client limit is counted (one Redis script per request) but set too high to refuse anything.
  const env = parseEnv({
    REDIS_URL: redisUrl,
    DATA_DIR: dataDir,
    LOG_LEVEL: "warn",
    WEBHOOK_RATE_LIMIT: String(1e9),
  });
  // Production log volume (info: a line per request) into /dev/null, so logging is paid for, through the
  // same kind of destination as production's stderr (tools/logger.ts): asynchronous, unbuffered.
  const destination = pino.destination({ dest: "/dev/null", sync: false });
  const logger = createLogger({
    level: "info",
    // A SonicBoom is the stream pino writes fastest to; its typings are not Node's Writable.
    destination: destination as unknown as NodeJS.WritableStream,
  });
  const metrics = createMetrics();
  const runtime = await createRuntime(env, { logger, worker: false, metrics });
  const app = await buildApp({ service: runtime.service, env, logger, metrics });
  await app.listen({ host: "127.0.0.1", port: 0 });

  const bare = Fastify({ bodyLimit: 256 * 1024 });
  // The webhook's three Redis writes with the same commands and record fields: a claim (under a key that
  // is never a duplicate), the lead, the job.
  bare.post("/webhooks/lead", async (request, reply) => {
    const leadId = randomUUID();
    const idempotencyKey = `bare:${leadId}`;
    await runtime.store.claimIdempotencyKey(idempotencyKey, leadId);
    await runtime.store.createLead({
      leadId,
      source: "generic",
      receivedAt: new Date().toISOString(),
      idempotencyKey,
      payload: request.body,
    });
    await runtime.queue.enqueue(leadId);
    return reply.code(202).send({ leadId, status: "queued" });
  });
  await bare.listen({ host: "127.0.0.1", port: 0 });

  const port = (instance: { server: { address(): unknown } }) =>
    (instance.server.address() as AddressInfo).port;
  process.stdout.write(`${JSON.stringify({ app: port(app), bare: port(bare) })}\n`);
  process.once("SIGTERM", () => {
    void Promise.all([app.close(), bare.close()])
      .then(() => runtime.close())
      .finally(() => process.exit(0));
  });
}

/** One route's figures over every slice it was driven in. */
interface RouteFigures {
  requests: number;
  seconds: number;
  /** Response times (ms) of every response. */
  latencies: number[];
  non2xx: number;
  errors: number;
}

function emptyFigures(): RouteFigures {
  return { requests: 0, seconds: 0, latencies: [], non2xx: 0, errors: 0 };
}

/** Drives `url` for `duration` seconds with distinct leads and adds the outcome to `into`. */
async function drive(url: string, duration: number, connections: number, into: RouteFigures): Promise<void> {
  if (values.paced && Number(values.rate) > 0)
    return drivePaced(url, duration, connections, Number(values.rate), into);
  let n = 0;
  const run = randomUUID().slice(0, 8);
  const result = await new Promise<AutocannonResult>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        duration,
        ...(Number(values.rate) > 0 ? { overallRate: Number(values.rate) } : {}),
        requests: [
          {
            method: "POST",
            path: "/webhooks/lead",
            headers: { "content-type": "application/json" },
            setupRequest: (req) => {
              n += 1;
              const sample = SAMPLES[n % SAMPLES.length] ?? {};
              // Distinct leads (a tagged email each time, so no request is a duplicate) that route like the
              // fixtures, so the workers do a real lead's work.
              return { ...req, body: JSON.stringify(distinctLead(sample, `bench-${run}-${n}`)) };
            },
          },
        ],
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    instance.on("response", (_client, _status, _bytes, ms) => {
      into.latencies.push(ms);
    });
  });
  into.requests += result.requests.total;
  into.seconds += result.duration;
  into.non2xx += result.non2xx;
  into.errors += result.errors + result.timeouts;
}

/**
 * Drives `url` at `rate` requests a second, evenly spaced, over `connections` keep-alive connections (one
 * agent of one socket each, taken in turn); latency runs from when a request was due.
 */
async function drivePaced(
  url: string,
  duration: number,
  connections: number,
  rate: number,
  into: RouteFigures,
): Promise<void> {
  const port = Number(new URL(url).port);
  const agents = Array.from({ length: connections }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
  const run = randomUUID().slice(0, 8);
  const total = Math.round(rate * duration);
  const inFlight: Array<Promise<void>> = [];
  const started = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
    for (; sent < due; sent++) {
      const i = sent;
      const dueAt = started + (i / rate) * 1000;
      const sample = SAMPLES[i % SAMPLES.length] ?? {};
      const body = JSON.stringify(distinctLead(sample, `paced-${run}-${i}`));
      const agent = agents[i % connections] as Agent;
      inFlight.push(
        postLead(agent, port, body).then(({ status }) => {
          into.latencies.push(performance.now() - dueAt);
          if (status === 0) into.errors += 1;
          else if (status < 200 || status > 299) into.non2xx += 1;
        }),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(inFlight);
  into.requests += total;
  into.seconds += (performance.now() - started) / 1000;
  for (const agent of agents) agent.destroy();
}

/** Nearest-rank percentile of ascending `sorted`, to 0.1 ms. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const at = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return Math.round((sorted[Math.max(0, at)] ?? Number.NaN) * 10) / 10;
}

function summary(figures: RouteFigures) {
  // A typed array sorts numerically.
  const sorted = Float64Array.from(figures.latencies).sort();
  return {
    rps: figures.requests / figures.seconds,
    requests: figures.requests,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: percentile(sorted, 100),
    non2xx: figures.non2xx,
    errors: figures.errors,
  };
}

const loadAverage = () => loadavg().map((l) => Number(l.toFixed(2)));

async function main(): Promise<void> {
  const duration = Number(values.duration);
  const rounds = Math.max(1, Math.trunc(Number(values.rounds)));
  const connections = Number(values.connections);
  const redis = await startRedis();
  const dataDir = mkdtempSync(join(tmpdir(), "leadgraph-bench-ingest-"));
  let stopWorkers: () => Promise<unknown> = async () => undefined;
  const child = spawn(
    process.execPath,
    ["bench/ingest.ts", "--serve", "--redis", redis.url, "--data-dir", dataDir],
    {
      stdio: ["ignore", "pipe", "inherit"],
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
    },
  );
  try {
    const first = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.once("line", resolve);
      child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
    });
    const ports = JSON.parse(first) as { app: number; bare: number };
    const appUrl = `http://127.0.0.1:${ports.app}`;
    const bareUrl = `http://127.0.0.1:${ports.bare}`;

    const workers = Array.from({ length: Number(values.workers) }, () =>
      spawn(process.execPath, ["--max-semi-space-size=16", "cli.ts", "worker"], {
        // Its logs (stderr, info level) go nowhere, as production's would go to a collector.
        stdio: ["ignore", "ignore", "ignore"],
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "",
          REDIS_URL: redis.url,
          DATA_DIR: dataDir,
          LOG_LEVEL: "info",
        },
      }),
    );
    stopWorkers = () =>
      Promise.all(
        workers.map(
          (worker) =>
            new Promise<void>((resolve) => {
              if (worker.exitCode !== null) return resolve();
              worker.once("exit", () => resolve());
              worker.kill("SIGTERM");
              setTimeout(() => worker.kill("SIGKILL"), 15_000).unref();
            }),
        ),
      );
    const counter = new Redis(redis.url);
    // Settled leads (completed or awaiting their owner), from the store's status indexes.
    const settled = async () =>
      (await counter.zcard("lg:leads:completed")) + (await counter.zcard("lg:leads:awaiting"));
    const loadBefore = loadAverage();
    // Warm-up of both (JIT, connection pools, Lua script cache); not counted. Workers start meanwhile.
    await drive(appUrl, 2, connections, emptyFigures());
    await drive(bareUrl, 2, connections, emptyFigures());

    const webhookFigures = emptyFigures();
    const bareFigures = emptyFigures();
    const slice = duration / rounds;
    const settledBefore = await settled();
    const measuring = performance.now();
    for (let round = 0; round < rounds; round++) {
      const order: Array<[string, RouteFigures]> = [
        [appUrl, webhookFigures],
        [bareUrl, bareFigures],
      ];
      if (round % 2 === 1) order.reverse();
      for (const [url, into] of order) await drive(url, slice, connections, into);
    }
    const loadAfter = loadAverage();
    const workerLeadsPerSecond = Math.round(
      ((await settled()) - settledBefore) / ((performance.now() - measuring) / 1000),
    );
    counter.disconnect();

    const webhook = summary(webhookFigures);
    const bare = summary(bareFigures);
    const row = (name: string, r: ReturnType<typeof summary>) => ({
      route: name,
      "req/s": Math.round(r.rps),
      requests: r.requests,
      "p50 ms": r.p50,
      "p99 ms": r.p99,
      "max ms": r.max,
      non2xx: r.non2xx,
      errors: r.errors,
    });
    console.log(
      `ingest, Redis profile, loopback, ${connections} connections, ` +
        `${Number(values.rate) > 0 ? `${values.rate} requests/s offered${values.paced ? " evenly" : " by autocannon"}, ` : ""}${values.workers} worker process(es), ` +
        `${duration} s per route in ${rounds} ` +
        `alternating slices, node ${process.version}, load average (1/5/15 min) ${loadBefore.join(" ")} ` +
        `before, ${loadAfter.join(" ")} after`,
    );
    console.table([row("POST /webhooks/lead", webhook), row("bare Redis writes", bare)]);
    const ratio = webhook.rps / bare.rps;
    console.log(
      JSON.stringify({
        bench: "ingest",
        webhookRps: Math.round(webhook.rps),
        bareRps: Math.round(bare.rps),
        ratio: Number(ratio.toFixed(2)),
        webhookP50Ms: webhook.p50,
        webhookP99Ms: webhook.p99,
        connections,
        offeredRate: Number(values.rate) > 0 ? Number(values.rate) : "closed loop",
        ...(Number(values.rate) > 0 ? { sender: values.paced ? "paced" : "autocannon" } : {}),
        workers: Number(values.workers),
        workerLeadsPerSecond,
        bareP50Ms: bare.p50,
        bareP99Ms: bare.p99,
        loadBefore,
        loadAfter,
        targets: { ratio: ">= 0.7", p99: "<= 25 ms" },
        met: ratio >= 0.7 && webhook.p99 <= 25 && webhook.non2xx === 0 && webhook.errors === 0,
      }),
    );
  } finally {
    await stopWorkers();
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
    await redis.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (values.serve) {
  if (!values.redis || !values["data-dir"]) throw new Error("--serve needs --redis and --data-dir");
  await serve(values.redis, values["data-dir"]);
} else {
  await main();
}
