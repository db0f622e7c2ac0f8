/**
 * Intake throughput on loopback, Redis profile: autocannon against POST /webhooks/lead (signature off,
 * validation, idempotency claim, lead stored, BullMQ job) and, in the same run, against a bare Fastify
 * route doing the same Redis writes (lead stored, job added) without validation or idempotency.
 * Every request carries a distinct lead. The servers run in a child process so the load generator does not
 * share their event loop; Redis is a private redis-server.
 *
 * Usage: node --import tsx bench/ingest.ts [--duration 10] [--connections 20]
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import Fastify from "fastify";
import { parseEnv } from "../config/env.ts";
import { buildApp } from "../http/app.ts";
import { createMetrics } from "../http/metrics.ts";
import { startRedis } from "../test/helpers/redis-server.ts";
import { createLogger } from "../tools/logger.ts";
import { createRuntime } from "../tools/runtime.ts";

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodeStats?: Record<string, { count: number }>;
}
interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  requests: Array<AutocannonRequest & { setupRequest?: (req: AutocannonRequest) => AutocannonRequest }>;
}) => Promise<AutocannonResult>;
// autocannon ships no type declarations.
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

const { values } = parseArgs({
  options: {
    serve: { type: "boolean", default: false },
    redis: { type: "string" },
    "data-dir": { type: "string" },
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "20" },
  },
});

const SAMPLES = (
  JSON.parse(readFileSync("fixtures/leads_sample.json", "utf8")) as Array<{
    payload: Record<string, unknown>;
  }>
).map((c) => c.payload);

/** The sample with a fresh email (in `properties` for HubSpot shapes), so it is a distinct lead. */
function withEmail(sample: Record<string, unknown>, email: string): Record<string, unknown> {
  const copy = structuredClone(sample);
  const properties = copy.properties;
  if (properties && typeof properties === "object") {
    const props = properties as Record<string, unknown>;
    const current = props.email;
    props.email = current && typeof current === "object" ? { ...current, value: email } : email;
  } else {
    copy.email = email;
  }
  return copy;
}

/** Child: the real app and the bare baseline on two loopback ports, sharing one runtime (store + queue). */
async function serve(redisUrl: string, dataDir: string): Promise<void> {
  const env = parseEnv({ REDIS_URL: redisUrl, DATA_DIR: dataDir, LOG_LEVEL: "warn" });
  // Production log volume (info: a line per request and per lead) into /dev/null, so logging is paid for.
  const logger = createLogger({ level: "info", destination: createWriteStream("/dev/null") });
  const metrics = createMetrics();
  const runtime = await createRuntime(env, { logger, worker: false, metrics });
  const app = await buildApp({ runtime, env, logger, metrics });
  await app.listen({ host: "127.0.0.1", port: 0 });

  const bare = Fastify({ bodyLimit: 256 * 1024 });
  bare.post("/webhooks/lead", async (request, reply) => {
    const leadId = randomUUID();
    await runtime.store.createLead({
      leadId,
      receivedAt: new Date().toISOString(),
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

async function load(url: string, duration: number, connections: number): Promise<AutocannonResult> {
  let n = 0;
  const run = randomUUID().slice(0, 8);
  return autocannon({
    url,
    connections,
    duration,
    requests: [
      {
        method: "POST",
        path: "/webhooks/lead",
        headers: { "content-type": "application/json" },
        setupRequest: (req) => {
          n += 1;
          const sample = SAMPLES[n % SAMPLES.length] ?? {};
          // Distinct leads: a new email each time, so no request is a duplicate.
          return { ...req, body: JSON.stringify(withEmail(sample, `bench-${run}-${n}@example.com`)) };
        },
      },
    ],
  });
}

async function main(): Promise<void> {
  const duration = Number(values.duration);
  const connections = Number(values.connections);
  const redis = await startRedis();
  const dataDir = mkdtempSync(join(tmpdir(), "leadgraph-bench-ingest-"));
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "bench/ingest.ts", "--serve", "--redis", redis.url, "--data-dir", dataDir],
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

    // Warm-up of both (JIT, connection pools, Lua script cache).
    await load(`http://127.0.0.1:${ports.app}`, 2, connections);
    await load(`http://127.0.0.1:${ports.bare}`, 2, connections);

    const webhook = await load(`http://127.0.0.1:${ports.app}`, duration, connections);
    const bare = await load(`http://127.0.0.1:${ports.bare}`, duration, connections);
    const row = (name: string, r: AutocannonResult) => ({
      route: name,
      "req/s": Math.round(r.requests.average),
      requests: r.requests.total,
      "p50 ms": r.latency.p50,
      "p99 ms": r.latency.p99,
      "max ms": r.latency.max,
      non2xx: r.non2xx,
      errors: r.errors + r.timeouts,
    });
    console.log(
      `ingest, Redis profile, loopback, ${connections} connections, ${duration} s each, node ${process.version}`,
    );
    console.table([row("POST /webhooks/lead", webhook), row("bare Redis writes", bare)]);
    const ratio = webhook.requests.average / bare.requests.average;
    console.log(
      JSON.stringify({
        bench: "ingest",
        webhookRps: Math.round(webhook.requests.average),
        bareRps: Math.round(bare.requests.average),
        ratio: Number(ratio.toFixed(2)),
        webhookP50Ms: webhook.latency.p50,
        webhookP99Ms: webhook.latency.p99,
        bareP50Ms: bare.latency.p50,
        bareP99Ms: bare.latency.p99,
        targets: { ratio: ">= 0.7", p99: "<= 25 ms" },
        met: ratio >= 0.7 && webhook.latency.p99 <= 25,
      }),
    );
  } finally {
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
