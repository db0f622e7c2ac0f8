/**
 * Leads per second through the whole graph, and what a lead costs Redis.
 *
 * 1. Graph only, per checkpointer (in-memory, SQLite, Redis): the same local adapters, in-memory counters
 *    and ledger, "sync" durability as the runner uses, and pruning after each lead; only the saver differs.
 * 2. Full profiles, one process: leads ingested through the webhook, then worked off by the queue workers
 *    (runner: lead records, timeline, checkpoints, ledger, pruning). For Redis also the commands per lead
 *    (MONITOR: sent by clients, and executed including those inside Lua scripts; INFO commandstats for the
 *    breakdown) and the memory per completed lead (INFO memory, after pruning).
 *
 * Redis is a private redis-server. Usage: node --import tsx bench/pipeline.ts [--leads 1000] [--concurrency 16]
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type BaseCheckpointSaver, MemorySaver } from "@langchain/langgraph";
import { Redis } from "ioredis";
import { type Env, parseEnv } from "../config/env.ts";
import { buildLeadGraph } from "../graph/build.ts";
import { RedisSaver } from "../graph/checkpoint/redis-saver.ts";
import { SqliteSaver } from "../graph/checkpoint/sqlite-saver.ts";
import { isPrunableSaver } from "../graph/checkpoint/types.ts";
import type { GraphDeps } from "../graph/deps.ts";
import { buildApp } from "../http/app.ts";
import { createMetrics } from "../http/metrics.ts";
import { startRedis } from "../test/helpers/redis-server.ts";
import { LocalCrm, loadCrmSeed } from "../tools/crm/local-crm.ts";
import { createLogger, silentLogger } from "../tools/logger.ts";
import { OutboxNotifier } from "../tools/notifier/outbox-notifier.ts";
import { createGraphDeps, loadRevOpsConfig } from "../tools/registry.ts";
import { createRuntime } from "../tools/runtime.ts";
import { MemoryCounters, MemoryLedger } from "../tools/store/memory.ts";

const { values } = parseArgs({
  options: { leads: { type: "string", default: "1000" }, concurrency: { type: "string", default: "16" } },
});
const LEADS = Number(values.leads);
const CONCURRENCY = Number(values.concurrency);

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

/** Distinct leads: the samples with a fresh email each. */
function payload(i: number, run: string): Record<string, unknown> {
  return withEmail(SAMPLES[i % SAMPLES.length] ?? {}, `pipe-${run}-${i}@example.com`);
}

async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) await task(i);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function graphOnly(env: Env, name: string, checkpointer: BaseCheckpointSaver) {
  const config = loadRevOpsConfig(env, { logger: silentLogger });
  const runtime = await createGraphDeps(env, {
    logger: silentLogger,
    counters: new MemoryCounters(),
    ledger: new MemoryLedger(),
    config,
  });
  const graph = buildLeadGraph(runtime.deps, { checkpointer });
  const runLead = async (i: number, run: string) => {
    const leadId = randomUUID();
    await graph.invoke(
      { leadId, receivedAt: new Date().toISOString(), raw: payload(i, run) },
      { configurable: { thread_id: leadId }, durability: "sync" },
    );
    if (isPrunableSaver(checkpointer)) await checkpointer.prune(leadId, { keepLast: 1 });
  };
  await pool(Math.min(200, LEADS), CONCURRENCY, (i) => runLead(i, "warm"));
  const started = performance.now();
  await pool(LEADS, CONCURRENCY, (i) => runLead(i, "run"));
  const seconds = (performance.now() - started) / 1000;
  await runtime.close();
  return { bench: "graph", checkpointer: name, leads: LEADS, leadsPerSecond: Math.round(LEADS / seconds) };
}

interface RedisCount {
  client: number;
  lua: number;
}

/** Counts commands Redis executes while `work` runs, split into client-sent and Lua-internal. */
async function monitored<T>(url: string, work: () => Promise<T>): Promise<{ result: T; counts: RedisCount }> {
  const redis = new Redis(url);
  const monitor = await redis.monitor();
  const counts: RedisCount = { client: 0, lua: 0 };
  monitor.on("monitor", (_time: string, _args: string[], source: string) => {
    if (source === "lua") counts.lua += 1;
    else counts.client += 1;
  });
  try {
    return { result: await work(), counts };
  } finally {
    monitor.disconnect();
    redis.disconnect();
  }
}

async function commandStats(redis: Redis): Promise<Map<string, number>> {
  const text = await redis.info("commandstats");
  const stats = new Map<string, number>();
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) stats.set(match[1]!, Number(match[2]));
  return stats;
}

async function usedMemory(redis: Redis): Promise<number> {
  const text = await redis.info("memory");
  return Number(/^used_memory:(\d+)/m.exec(text)?.[1]);
}

interface ProfileOptions {
  /** MONITOR the run, to split commands into client-sent and Lua-internal (slows Redis down). */
  monitor?: boolean;
  /** Owner messages and CRM writes in memory instead of the fsync'ed local files (the vendor ports' stand-in). */
  memoryAdapters?: boolean;
  keepCheckpoints?: number;
}

/** In-memory outbox and CRM: what the pipeline costs without the local adapters' fdatasync per write. */
function memoryAdapters(env: Env) {
  const seedCompanies = loadCrmSeed(join(env.FIXTURES_DIR, "crm-companies.json"));
  return (deps: GraphDeps): GraphDeps => ({
    ...deps,
    notifier: new OutboxNotifier(),
    crm: new LocalCrm({ seedCompanies }),
  });
}

async function fullProfile(profile: "embedded" | "redis", redisUrl?: string, options: ProfileOptions = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), `leadgraph-bench-${profile}-`));
  const env = parseEnv({
    DATA_DIR: dataDir,
    LOG_LEVEL: "silent",
    WORKER_CONCURRENCY: String(CONCURRENCY),
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
  });
  const admin = redisUrl ? new Redis(redisUrl) : undefined;
  try {
    // Intake first, workers off: the lead records and jobs wait in the store and queue.
    const run = randomUUID().slice(0, 8);
    const metrics = createMetrics({ defaultMetrics: false });
    const intake = await createRuntime(env, { logger: silentLogger, worker: false, metrics });
    const app = await buildApp({ runtime: intake, env, logger: createLogger({ level: "silent" }), metrics });
    const memoryBefore = admin ? await usedMemory(admin) : 0;
    const statsBefore = admin ? await commandStats(admin) : new Map<string, number>();
    const ingest = async () => {
      const ids: string[] = [];
      await pool(LEADS, CONCURRENCY, async (i) => {
        const res = await app.inject({ method: "POST", url: "/webhooks/lead", payload: payload(i, run) });
        if (res.statusCode !== 202) throw new Error(`intake answered ${res.statusCode}: ${res.body}`);
        ids.push(res.json<{ leadId: string }>().leadId);
      });
      return ids;
    };
    const watch = redisUrl && options.monitor ? redisUrl : undefined;
    const intakeRun = watch ? await monitored(watch, ingest) : { result: await ingest(), counts: undefined };
    const leadIds = intakeRun.result;
    await app.close();
    await intake.close();

    // Workers on: time until every lead is completed.
    const work = async () => {
      const started = performance.now();
      const worker = await createRuntime(env, {
        logger: silentLogger,
        worker: true,
        ...(options.memoryAdapters ? { overrideDeps: memoryAdapters(env) } : {}),
        ...(options.keepCheckpoints !== undefined ? { keepCheckpoints: options.keepCheckpoints } : {}),
      });
      for (;;) {
        const counts = await worker.store.countByStatus();
        if (counts.completed + counts.failed >= LEADS) {
          const seconds = (performance.now() - started) / 1000;
          await worker.close();
          return { seconds, failed: counts.failed };
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };
    const workRun = watch ? await monitored(watch, work) : { result: await work(), counts: undefined };

    const out: Record<string, unknown> = {
      bench: "pipeline",
      profile,
      adapters: options.memoryAdapters ? "outbox+crm in memory" : "local files (fdatasync per write)",
      keepCheckpoints: options.keepCheckpoints ?? 1,
      ...(watch ? { note: "MONITOR on: throughput not representative" } : {}),
      leads: LEADS,
      concurrency: CONCURRENCY,
      leadsPerSecond: Math.round(LEADS / workRun.result.seconds),
      failed: workRun.result.failed,
    };
    if (admin) {
      const statsAfter = await commandStats(admin);
      const perLead = (n: number) => Number((n / LEADS).toFixed(1));
      // This benchmark's own status polls and INFO calls are not the pipeline's.
      const benchCommands = ["zcard", "info", "monitor"];
      const delta = [...statsAfter]
        .map(([cmd, calls]) => [cmd, calls - (statsBefore.get(cmd) ?? 0)] as const)
        .filter(([cmd, calls]) => calls > 0 && !benchCommands.includes(cmd))
        .sort((a, b) => b[1] - a[1]);
      Object.assign(out, {
        executedCommandsPerLead: perLead(delta.reduce((sum, [, calls]) => sum + calls, 0)),
        commandstatsPerLead: delta
          .slice(0, 14)
          .map(([cmd, calls]) => `${cmd}=${perLead(calls)}`)
          .join(" "),
        memoryBytesPerCompletedLead: Math.round(((await usedMemory(admin)) - memoryBefore) / LEADS),
        checkpointsPerCompletedLead: await checkpointsPerLead(redisUrl as string, leadIds.slice(0, 20)),
      });
      if (intakeRun.counts && workRun.counts)
        Object.assign(out, {
          sentByClientsPerLead: {
            intake: perLead(intakeRun.counts.client),
            worker: perLead(workRun.counts.client),
          },
          executedInLuaPerLead: {
            intake: perLead(intakeRun.counts.lua),
            worker: perLead(workRun.counts.lua),
          },
        });
    }
    return out;
  } finally {
    admin?.disconnect();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Checkpoints a sample of completed leads still hold (pruning keeps one). */
async function checkpointsPerLead(url: string, leadIds: string[]): Promise<number> {
  const saver = new RedisSaver({ redis: url });
  let total = 0;
  for (const id of leadIds) for await (const _ of saver.list({ configurable: { thread_id: id } })) total += 1;
  await saver.close();
  return total / leadIds.length;
}

const redis = await startRedis();
const scratch = mkdtempSync(join(tmpdir(), "leadgraph-bench-graph-"));
try {
  const env = parseEnv({ LOG_LEVEL: "silent", DATA_DIR: scratch });
  console.log(`pipeline, ${LEADS} leads, concurrency ${CONCURRENCY}, node ${process.version}`);
  const rows: Array<Record<string, unknown>> = [];
  rows.push(await graphOnly(env, "memory", new MemorySaver()));
  rows.push(await graphOnly(env, "sqlite", new SqliteSaver({ path: join(scratch, "checkpoints.db") })));
  const redisSaver = new RedisSaver({ redis: `${redis.url}/1` });
  rows.push(await graphOnly(env, "redis", redisSaver));
  await redisSaver.close();
  for (const row of rows) console.log(JSON.stringify(row));
  console.log(JSON.stringify(await fullProfile("embedded")));
  console.log(JSON.stringify(await fullProfile("embedded", undefined, { memoryAdapters: true })));
  console.log(JSON.stringify(await fullProfile("redis", `${redis.url}/2`)));
  console.log(JSON.stringify(await fullProfile("redis", `${redis.url}/3`, { memoryAdapters: true })));
  console.log(
    JSON.stringify(
      await fullProfile("redis", `${redis.url}/4`, { memoryAdapters: true, keepCheckpoints: 0 }),
    ),
  );
  console.log(JSON.stringify(await fullProfile("redis", `${redis.url}/5`, { monitor: true })));
} finally {
  await redis.stop();
  rmSync(scratch, { recursive: true, force: true });
}
