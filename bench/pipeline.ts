// Over 300 lines: three benches that share their setup (graph alone, whole profiles, the MONITOR split).
/**
 * Leads per second through the whole graph, and what a lead costs Redis.
 *
 * 1. Graph only, per checkpointer (in-memory, SQLite, Redis): the same local adapters, in-memory counters
 *    and ledger, "sync" durability as the runner uses, and pruning after each lead; only the saver differs.
 * 2. Full profiles, one process: leads ingested through the webhook, then worked off by the queue workers
 *    (runner: lead records, timeline, checkpoints, ledger, pruning); leads/s is the work-off rate. In the
 *    Redis profile the worker starts first and is paused during intake, so its start-up sweep (which
 *    re-asserts the job of every queued lead) finds nothing and jobs are added as on a live queue: the
 *    figures are a lead's own.
 *    Redis commands per completed lead come from INFO commandstats, which counts the commands clients send
 *    and those run inside Lua scripts (BullMQ's mostly); this benchmark's own polls and INFO calls are taken
 *    out. Memory per completed lead is used_memory after every lead completed and was pruned, less
 *    used_memory before intake, over 1000 leads by default (jemalloc's exact byte count, not RSS).
 * 3. The Redis profile once more under MONITOR, to split the same commands by who issued them: each command
 *    is put down to the component owning the key it touches (checkpointer `lg:cp:`, BullMQ `lg:bull:`,
 *    lead store: ledger `lg:ledger`, counters `lg:counter:`, idempotency `lg:idem:`, records the rest of
 *    `lg:`); MULTI/EXEC to their connection's next/previous command, commands in a script to the script.
 *
 * Redis is a private redis-server. Usage:
 *   node bench/pipeline.ts [--leads 1000] [--concurrency 16] [--monitor-leads 300]
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type BaseCheckpointSaver, MemorySaver } from "@langchain/langgraph";
import { Redis } from "ioredis";
import { createGraphDeps } from "../app/adapters.ts";
import { createLogger, silentLogger } from "../app/logger.ts";
import { createRuntime, DATABASE_FILE, type LeadRuntime } from "../app/runtime.ts";
import { type Env, parseEnv } from "../config/env.ts";
import { loadRevOpsConfig } from "../config/revops.ts";
import { buildLeadGraph } from "../graph/build.ts";
import { RedisSaver } from "../graph/checkpoint/redis-saver.ts";
import { SqliteSaver } from "../graph/checkpoint/sqlite-saver.ts";
import { isPrunableSaver } from "../graph/checkpoint/types.ts";
import { buildApp } from "../http/app.ts";
import { createMetrics } from "../http/metrics.ts";
import type { GraphDeps } from "../nodes/deps.ts";
import type { LeadStore } from "../store/lead-store.ts";
import { MemoryCounters, MemoryLedger } from "../store/memory.ts";
import type { BullmqQueue } from "../store/queue/bullmq-queue.ts";
import { RedisLeadStore } from "../store/redis-lead-store.ts";
import { SqliteLeadStore } from "../store/sqlite-lead-store.ts";
import { startRedis } from "../test/helpers/redis-server.ts";
import { LocalCrm, loadCrmSeed } from "../tools/embedded/local-crm.ts";
import { OutboxNotifier } from "../tools/embedded/outbox-notifier.ts";
import {
  type CommandTally,
  type Component,
  commandStats,
  memoryByKey,
  monitored,
  statsDelta,
  usedMemory,
} from "./redis-stats.ts";
import { SAMPLES, withEmail } from "./samples.ts";

const { values } = parseArgs({
  options: {
    leads: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "16" },
    "monitor-leads": { type: "string", default: "300" },
  },
});
const LEADS = Number(values.leads);
const CONCURRENCY = Number(values.concurrency);
const MONITOR_LEADS = Math.min(LEADS, Number(values["monitor-leads"]));

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

const perLead = (n: number, leads: number) => Number((n / leads).toFixed(1));

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

interface ProfileOptions {
  /** Owner messages and CRM writes in memory instead of the fsync'ed local files (the vendor ports' stand-in). */
  memoryAdapters?: boolean;
  /** Redis database of this run (each run gets a fresh one). */
  db?: number;
  /** Split the commands by component under MONITOR (slows Redis down: throughput not representative). */
  monitor?: boolean;
  /** Leads of this run; default --leads (--monitor-leads under MONITOR). */
  leads?: number;
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

async function fullProfile(
  profile: "embedded" | "redis",
  redisBase: string | undefined,
  options: ProfileOptions,
) {
  const leads = options.leads ?? (options.monitor ? MONITOR_LEADS : LEADS);
  const dataDir = mkdtempSync(join(tmpdir(), `leadgraph-bench-${profile}-`));
  const db = options.db ?? 0;
  const redisUrl = profile === "redis" && redisBase ? `${redisBase}/${db}` : undefined;
  const env = parseEnv({
    DATA_DIR: dataDir,
    LOG_LEVEL: "silent",
    WORKER_CONCURRENCY: String(CONCURRENCY),
    // One client sends every lead: the per-client limit would refuse most of them. Its cost is in bench:ingest.
    WEBHOOK_RATE_LIMIT: "0",
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
  });
  // The benchmark's own connection: status polls, INFO. Its commands are not the pipeline's.
  const admin = redisUrl ? new Redis(redisUrl) : undefined;
  const own = { info: 0, zcard: 0 };
  const poller: LeadStore = admin
    ? new RedisLeadStore({ redis: admin })
    : new SqliteLeadStore({ path: join(dataDir, DATABASE_FILE) });
  const startWorker = () =>
    createRuntime(env, {
      logger: silentLogger,
      worker: true,
      ...(options.memoryAdapters ? { overrideDeps: memoryAdapters(env) } : {}),
    });
  try {
    const run = randomUUID().slice(0, 8);
    let worker: LeadRuntime | undefined;
    let bull: BullmqQueue["bullWorker"];
    if (admin) {
      await admin.ping();
      worker = await startWorker();
      bull = (worker.queue as BullmqQueue).bullWorker;
      await bull?.pause(true);
    }
    const memoryBefore = admin ? await usedMemory(admin) : 0;
    const statsBefore = admin ? await commandStats(admin) : new Map<string, number>();
    own.info += admin ? 2 : 0;

    const metrics = createMetrics({ defaultMetrics: false });
    const intake = await createRuntime(env, { logger: silentLogger, worker: false, metrics });
    const app = await buildApp({
      service: intake.service,
      env,
      logger: createLogger({ level: "silent" }),
      metrics,
    });
    const ingest = () =>
      pool(leads, CONCURRENCY, async (i) => {
        const res = await app.inject({ method: "POST", url: "/webhooks/lead", payload: payload(i, run) });
        if (res.statusCode !== 202) throw new Error(`intake answered ${res.statusCode}: ${res.body}`);
      });
    const watch =
      admin && options.monitor
        ? { port: Number(new URL(redisUrl as string).port), self: admin.stream.localPort ?? 0 }
        : undefined;
    let intakeTally: CommandTally | undefined;
    if (watch) intakeTally = (await monitored(watch.port, db, watch.self, ingest)).tally;
    else await ingest();
    await app.close();
    await intake.close();
    const statsIntake = admin ? await commandStats(admin) : new Map<string, number>();
    own.info += admin ? 1 : 0;

    // Workers on (or let go): time until every lead is completed.
    const work = async () => {
      const started = performance.now();
      if (bull) await bull.resume();
      else worker = await startWorker();
      for (;;) {
        const counts = await poller.countByStatus();
        own.zcard += admin ? 4 : 0;
        if (counts.completed + counts.failed >= leads) {
          const seconds = (performance.now() - started) / 1000;
          await worker?.close();
          return { seconds, failed: counts.failed };
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };
    const workRun = watch
      ? await monitored(watch.port, db, watch.self, work)
      : { result: await work(), tally: undefined };

    const out: Record<string, unknown> = {
      bench: "pipeline",
      profile,
      adapters: options.memoryAdapters ? "outbox+crm in memory" : "local files (fdatasync per write)",
      ...(watch ? { note: "MONITOR on: throughput not representative" } : {}),
      leads,
      concurrency: CONCURRENCY,
      leadsPerSecond: Math.round(leads / workRun.result.seconds),
      failed: workRun.result.failed,
    };
    if (admin) {
      const memoryAfter = await usedMemory(admin);
      const statsAfter = await commandStats(admin);
      own.info += 2;
      const intakeDelta = statsDelta(statsIntake, statsBefore, { info: 1 });
      const total = statsDelta(statsAfter, statsBefore, own);
      const sum = (delta: ReadonlyArray<readonly [string, number]>) =>
        delta.reduce((n, [, calls]) => n + calls, 0);
      Object.assign(out, {
        commandsPerLead: {
          total: perLead(sum(total), leads),
          intake: perLead(sum(intakeDelta), leads),
          worker: perLead(sum(total) - sum(intakeDelta), leads),
        },
        commandstatsPerLead: total
          .slice(0, 16)
          .map(([cmd, calls]) => `${cmd}=${perLead(calls, leads)}`)
          .join(" "),
        memoryBytesPerCompletedLead: Math.round((memoryAfter - memoryBefore) / leads),
        memoryByKeyPerLead: await memoryByKey(admin, leads),
        checkpointsPerCompletedLead: await checkpointsPerLead(
          redisUrl as string,
          (await poller.listLeads({ limit: 20 })).leads.map((l) => l.leadId),
        ),
      });
      if (intakeTally && workRun.tally)
        Object.assign(out, { byComponentPerLead: split(intakeTally, workRun.tally, leads) });
    }
    return out;
  } finally {
    await poller.close();
    admin?.disconnect();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Commands per lead by component, each as intake + worker = total, and how many ran inside Lua scripts. */
function split(intake: CommandTally, worker: CommandTally, leads: number) {
  const of = (component: Component) => {
    const a = intake.byComponent.get(component) ?? 0;
    const b = worker.byComponent.get(component) ?? 0;
    return { intake: perLead(a, leads), worker: perLead(b, leads), total: perLead(a + b, leads) };
  };
  const storeParts = ["records", "idempotency", "ledger", "counters"] as const;
  const storeTotal = storeParts.reduce(
    (n, c) => n + (intake.byComponent.get(c) ?? 0) + (worker.byComponent.get(c) ?? 0),
    0,
  );
  return {
    checkpointer: of("checkpointer"),
    leadStore: {
      ...Object.fromEntries(storeParts.map((c) => [c, of(c)])),
      total: perLead(storeTotal, leads),
    },
    queueBullmq: of("queue"),
    unattributed: of("other"),
    total: perLead(intake.total() + worker.total(), leads),
    insideLuaScripts: perLead(intake.lua + worker.lua, leads),
  };
}

/** Checkpoints a sample of completed leads still hold (pruning keeps one). */
async function checkpointsPerLead(url: string, leadIds: string[]): Promise<number> {
  const saver = new RedisSaver({ redis: url });
  let total = 0;
  for (const id of leadIds) for await (const _ of saver.list({ configurable: { thread_id: id } })) total += 1;
  await saver.close();
  return total / Math.max(1, leadIds.length);
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
  console.log(JSON.stringify(await fullProfile("embedded", undefined, {})));
  console.log(JSON.stringify(await fullProfile("embedded", undefined, { memoryAdapters: true })));
  // Warm-up: the first run on a server also pays for one-off memory (Lua script cache, BullMQ's metadata).
  await fullProfile("redis", redis.url, { db: 5, memoryAdapters: true, leads: 50 });
  console.log(JSON.stringify(await fullProfile("redis", redis.url, { db: 2 })));
  console.log(JSON.stringify(await fullProfile("redis", redis.url, { db: 3, memoryAdapters: true })));
  console.log(
    JSON.stringify(await fullProfile("redis", redis.url, { db: 4, memoryAdapters: true, monitor: true })),
  );
} finally {
  await redis.stop();
  rmSync(scratch, { recursive: true, force: true });
}
