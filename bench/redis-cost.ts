/**
 * What one lead costs Redis, BullMQ included: commands and bytes per settled lead, against the targets
 * (at most 60 commands and 8 KB), and which commands on which keys make up the count.
 *
 * The Redis profile as the service runs it, in this process: an intake runtime and the webhook (app.inject),
 * and a worker runtime (BullMQ worker, runner, checkpointer, lead store, event log) on a private redis-server.
 * The vendor stand-ins (outbox, CRM) are in memory: they never touch Redis. A lead counts as settled when
 * it is `completed` or `awaiting` (delivered, waiting for its owner).
 *
 * Three ways of arriving (backlog and trickle each on a fresh database):
 * - backlog: `--leads` leads taken in with the worker paused, then worked off at `--concurrency`; the live
 *   events of many leads share each XADD.
 * - trickle: `--trickle-leads` leads one at a time, each taken in and settled before the next (a quiet
 *   day: nothing shares a write with another lead).
 * - steady: `--steady-fill` (4,000) leads as a backlog first, not counted, which fills the capped streams (the live
 *   event log keeps EVENTS_KEEP, 5,000, entries; BullMQ's events stream is capped too); then `--leads` more as a
 *   backlog, counted: what a lead costs once the service has run a while (bytes from used_memory only).
 *
 * Commands come from INFO commandstats, which also counts the commands run inside Lua scripts (BullMQ's,
 * mostly); this bench's own INFO and ZCARD calls are taken out. Bytes are used_memory after every lead
 * settled, less before intake (jemalloc's exact count; the first run on the server is a warm-up that pays
 * for Lua's script cache and BullMQ's metadata). Also printed: the MEMORY USAGE of the keys a lead leaves
 * behind (every key but the capped streams, the live event log and BullMQ's events, and the config
 * history), which is what grows with the number of leads. The split by command and key comes from
 * MONITOR on the same run.
 *
 * Usage: node bench/redis-cost.ts [--leads 500] [--trickle-leads 100] [--steady-fill 4000] [--concurrency 16]
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { createLogger, silentLogger } from "../app/logger.ts";
import { createRuntime, type LeadRuntime } from "../app/runtime.ts";
import { parseEnv } from "../config/env.ts";
import { buildApp } from "../http/app.ts";
import { createMetrics } from "../http/metrics.ts";
import type { GraphDeps } from "../nodes/deps.ts";
import { LEAD_STATUSES } from "../store/lead-store.ts";
import type { BullmqQueue } from "../store/queue/bullmq-queue.ts";
import { RedisLeadStore } from "../store/redis-lead-store.ts";
import { startRedis } from "../test/helpers/redis-server.ts";
import { LocalCrm, loadCrmSeed } from "../tools/embedded/local-crm.ts";
import { OutboxNotifier } from "../tools/embedded/outbox-notifier.ts";
import {
  type CommandTally,
  commandStats,
  memoryByKey,
  monitored,
  statsDelta,
  usedMemory,
} from "./redis-stats.ts";
import { distinctLead, SAMPLES, settlesLead } from "./samples.ts";

const { values } = parseArgs({
  options: {
    leads: { type: "string", default: "500" },
    "trickle-leads": { type: "string", default: "100" },
    "steady-fill": { type: "string", default: "4000" },
    concurrency: { type: "string", default: "16" },
  },
});
const CONCURRENCY = Number(values.concurrency);
const TARGET_COMMANDS = 60;
const TARGET_BYTES = 8192;

async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) await task(i);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

const SETTLED = new Set(["completed", "awaiting"]);

async function measure(
  redisBase: string,
  db: number,
  mode: "backlog" | "trickle" | "warm-up" | "fill" | "steady",
  leads: number,
  prior = 0,
) {
  const dataDir = mkdtempSync(join(tmpdir(), "leadgraph-redis-cost-"));
  const url = `${redisBase}/${db}`;
  const env = parseEnv({
    DATA_DIR: dataDir,
    LOG_LEVEL: "silent",
    REDIS_URL: url,
    WORKER_CONCURRENCY: String(CONCURRENCY),
    // One client sends every lead: the per-client limit would refuse most of them (a script per request).
    WEBHOOK_RATE_LIMIT: "0",
  });
  const seedCompanies = loadCrmSeed(join(env.FIXTURES_DIR, "crm-companies.json"));
  const inMemory = (deps: GraphDeps): GraphDeps => ({
    ...deps,
    notifier: new OutboxNotifier(),
    crm: new LocalCrm({ seedCompanies }),
  });
  // This bench's own connection: INFO and status counts, left out of the figures.
  const admin = new Redis(url);
  const own = { info: 0, zcard: 0 };
  const poller = new RedisLeadStore({ redis: admin });
  let worker: LeadRuntime | undefined;
  let intake: LeadRuntime | undefined;
  try {
    await admin.ping();
    worker = await createRuntime(env, { logger: silentLogger, worker: true, overrideDeps: inMemory });
    const bull = (worker.queue as BullmqQueue).bullWorker;
    let settled = 0;
    let wake: () => void = () => undefined;
    worker.subscribe((event) => {
      if (!settlesLead(event.type)) return;
      settled += 1;
      wake();
    });
    const settledCount = (n: number) =>
      new Promise<void>((resolve) => {
        wake = () => {
          if (settled >= n) resolve();
        };
        wake();
      });
    if (mode !== "trickle") await bull?.pause(true);
    const memoryBefore = await usedMemory(admin);
    const statsBefore = await commandStats(admin);
    own.info += 2;
    const metrics = createMetrics({ defaultMetrics: false });
    intake = await createRuntime(env, { logger: silentLogger, worker: false, metrics });
    const app = await buildApp({
      service: intake.service,
      env,
      logger: createLogger({ level: "silent" }),
      metrics,
    });
    const run = randomUUID().slice(0, 8);
    const accept = async (i: number) => {
      const payload = distinctLead(SAMPLES[i % SAMPLES.length] ?? {}, `cost-${run}-${i}`);
      const res = await app.inject({ method: "POST", url: "/webhooks/lead", payload });
      if (res.statusCode !== 202) throw new Error(`intake answered ${res.statusCode}: ${res.body}`);
    };
    const work = async () => {
      if (mode === "trickle") {
        for (let i = 0; i < leads; i++) {
          await accept(i);
          await settledCount(i + 1);
        }
      } else {
        await pool(leads, CONCURRENCY, accept);
        await bull?.resume();
        await settledCount(leads);
      }
    };
    const selfPort = admin.stream.localPort ?? 0;
    const { tally } = await monitored(Number(new URL(url).port), db, selfPort, work);
    // Idle timers (BullMQ's stalled-job checks, the reconciler) are not a lead's: stop before reading.
    await app.close();
    await intake.close();
    intake = undefined;
    await worker.close();
    worker = undefined;
    const counts = await poller.countByStatus();
    own.zcard += LEAD_STATUSES.length;
    const settledInStore = Object.entries(counts)
      .filter(([status]) => SETTLED.has(status))
      .reduce((n, [, count]) => n + count, 0);
    if (settledInStore !== prior + leads)
      throw new Error(`${settledInStore} of ${prior + leads} leads settled: ${JSON.stringify(counts)}`);
    const memoryAfter = await usedMemory(admin);
    const statsAfter = await commandStats(admin);
    own.info += 2;
    const delta = statsDelta(statsAfter, statsBefore, own);
    const commands = delta.reduce((n, [, calls]) => n + calls, 0) / leads;
    const bytes = (memoryAfter - memoryBefore) / leads;
    // After a fill the keys hold earlier leads too: only the deltas are this run's.
    const byKey = prior === 0 ? await memoryByKey(admin, leads) : {};
    return {
      mode,
      leads,
      counts,
      commandsPerLead: Number(commands.toFixed(1)),
      bytesPerLead: Math.round(bytes),
      byCommandName: Object.fromEntries(
        delta.map(([cmd, calls]) => [cmd, Number((calls / leads).toFixed(2))]),
      ),
      tally,
      memoryByKey: byKey,
      // What stays per lead: every key but the capped streams (the live event log keeps EVENTS_KEEP
      // entries, BullMQ's event stream 100) and the config history (one entry per config version).
      ownKeyBytesPerLead:
        prior === 0
          ? Object.entries(byKey)
              .filter(([kind]) => !/^lg:(events|bull:.*:events|config-versions:)/.test(kind))
              .reduce((n, [, b]) => n + b, 0)
          : undefined,
    };
  } finally {
    await intake?.close();
    await worker?.close();
    await poller.close();
    admin.disconnect();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function table(tally: CommandTally, leads: number): Array<{ command: string; perLead: number }> {
  return [...tally.byCommand]
    .map(([command, calls]) => ({ command, perLead: Number((calls / leads).toFixed(2)) }))
    .filter((row) => row.perLead >= 0.05)
    .sort((a, b) => b.perLead - a.perLead);
}

const redis = await startRedis();
const loadStart = loadavg()[0];
try {
  console.log(
    `redis-cost, node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  await measure(redis.url, 1, "warm-up", 30);
  const results = [
    await measure(redis.url, 2, "backlog", Number(values.leads)),
    await measure(redis.url, 3, "trickle", Number(values["trickle-leads"])),
  ];
  // Steady state: the capped streams (EVENTS_KEEP live events, BullMQ's events) filled by earlier leads, so a
  // further lead costs what stays with it. Not counted: the fill itself.
  const fill = Number(values["steady-fill"]);
  if (fill > 0) {
    await measure(redis.url, 4, "fill", fill);
    results.push(await measure(redis.url, 4, "steady", Number(values.leads), fill));
  }
  for (const r of results) {
    console.log(
      `\n${r.mode}: ${r.leads} leads, ${r.commandsPerLead} commands and ${r.bytesPerLead} bytes per lead`,
    );
    console.log("commands per lead by issuer, command and key (MONITOR; lua = inside a script):");
    console.table(table(r.tally, r.leads));
    if (r.ownKeyBytesPerLead !== undefined)
      console.log("bytes per lead by key (MEMORY USAGE):", JSON.stringify(r.memoryByKey));
  }
  console.log(
    JSON.stringify({
      bench: "redis-cost",
      results: results.map((r) => ({
        mode: r.mode,
        leads: r.leads,
        statuses: r.counts,
        commandsPerLead: r.commandsPerLead,
        bytesPerLead: r.bytesPerLead,
        ownKeyBytesPerLead: r.ownKeyBytesPerLead,
        byCommandName: r.byCommandName,
        met: {
          commands: r.commandsPerLead <= TARGET_COMMANDS,
          bytes: r.bytesPerLead <= TARGET_BYTES,
          ...(r.ownKeyBytesPerLead !== undefined
            ? { ownKeyBytes: r.ownKeyBytesPerLead <= TARGET_BYTES }
            : {}),
        },
      })),
      targets: { commandsPerLead: `<= ${TARGET_COMMANDS}`, bytesPerLead: `<= ${TARGET_BYTES}` },
      loadavg1: { start: Number(loadStart?.toFixed(2)), end: Number(loadavg()[0]?.toFixed(2)) },
    }),
  );
} finally {
  await redis.stop();
}
