/**
 * The service's memory: resident set size (VmRSS) idle after start, and as processed leads pile up, from
 * `--mark` (5,000) to `--leads` (50,000), against the targets (idle at most 150 MB; flat within ±10% from
 * the first mark to the last).
 *
 * The service is started as `npm start` starts it (`node --max-semi-space-size=16 server.ts`: host and
 * workers in one process, info logs to /dev/null, the per-client rate limit off so one sender may post
 * every lead) on the embedded profile (SQLite in a fresh DATA_DIR) or the Redis profile (a private
 * redis-server). Idle RSS is the median of ten readings over the last second of `--idle-ms` after the first
 * healthy answer. Then distinct leads are posted to POST /webhooks/lead, `--connections` at a time, holding
 * the backlog (accepted, not yet settled) at `--backlog` at most, so memory measures processed leads and
 * not a queue growing in the process. A lead is settled when `completed` or `awaiting` (delivered, waiting
 * for its owner), or `failed`; the bench reads the counts from the store, as another process would. At
 * every mark RSS is read twice, each the median of ten readings over one second: busy (leads still
 * flowing), then at rest (intake held until every accepted lead settled, then 2 s idle), which is what the
 * process keeps; the flatness target is judged at rest.
 *
 * Usage: node bench/memory.ts [--profile embedded|redis|both] [--leads 50000] [--mark 5000]
 *        [--backlog 200] [--connections 8] [--idle-ms 5000]
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent } from "node:http";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { DATABASE_FILE } from "../app/database.ts";
import type { LeadStore } from "../store/lead-store.ts";
import { RedisLeadStore } from "../store/redis-lead-store.ts";
import { SqliteLeadStore } from "../store/sqlite-lead-store.ts";
import { freePort, startRedis } from "../test/helpers/redis-server.ts";
import { healthy, postLead, stopChild } from "./http.ts";
import { distinctLead, SAMPLES } from "./samples.ts";

const { values } = parseArgs({
  options: {
    profile: { type: "string", default: "both" },
    leads: { type: "string", default: "50000" },
    mark: { type: "string", default: "5000" },
    backlog: { type: "string", default: "200" },
    connections: { type: "string", default: "8" },
    "idle-ms": { type: "string", default: "5000" },
  },
});
const LEADS = Number(values.leads);
const MARK = Number(values.mark);
const BACKLOG = Number(values.backlog);
const CONNECTIONS = Number(values.connections);
const IDLE_TARGET_MB = 150;
const FLAT_WITHIN = 0.1;

/** Resident set size of a live process in MB (10^6 bytes), from /proc (Linux). */
function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"));
  return (Number(line?.match(/\d+/)?.[0] ?? Number.NaN) * 1024) / 1e6;
}

/** Median of ten RSS readings over one second. */
async function rssNow(pid: number): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < 10; i++) {
    readings.push(rssMb(pid));
    await sleep(100);
  }
  readings.sort((a, b) => a - b);
  return Math.round(((readings[4] ?? 0) + (readings[5] ?? 0)) / 2);
}

const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });

async function settledCount(store: LeadStore): Promise<{ settled: number; failed: number }> {
  const counts = (await store.countByStatus()) as Record<string, number>;
  const failed = counts.failed ?? 0;
  return { settled: (counts.completed ?? 0) + (counts.awaiting ?? 0) + failed, failed };
}

async function profileRun(profile: "embedded" | "redis") {
  const dataDir = mkdtempSync(join(tmpdir(), `leadgraph-bench-memory-${profile}-`));
  const redis = profile === "redis" ? await startRedis() : undefined;
  const port = await freePort();
  const child = spawn(process.execPath, ["--max-semi-space-size=16", "server.ts"], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      WEBHOOK_RATE_LIMIT: "0",
      ...(redis ? { REDIS_URL: redis.url } : {}),
    },
    // Its logs (info level, on stderr) go nowhere, as production's would go to a collector.
    stdio: ["ignore", "ignore", "ignore"],
  });
  let store: LeadStore | undefined;
  try {
    const started = performance.now();
    while (!(await healthy(`http://127.0.0.1:${port}/health`))) {
      if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode}`);
      if (performance.now() - started > 60_000) throw new Error("no healthy answer within 60 s");
      await sleep(20);
    }
    // Opened once the service has made its tables.
    const counts: LeadStore = redis
      ? new RedisLeadStore({ redis: redis.url })
      : new SqliteLeadStore({ path: join(dataDir, DATABASE_FILE) });
    store = counts;
    await sleep(Math.max(0, Number(values["idle-ms"]) - 1000));
    const idle = await rssNow(child.pid as number);
    console.error(`${profile}: idle ${idle} MB`);

    const tag = randomUUID().slice(0, 8);
    let sent = 0;
    let accepted = 0;
    let rejected = 0;
    let settled = 0;
    let failed = 0;
    const marks: Array<{ leads: number; rssMb: number; busyRssMb: number; seconds: number; load1: number }> =
      [];
    const t0 = performance.now();
    let polling = true;
    let holding = false;
    const poll = (async () => {
      let nextMark = MARK;
      while (polling) {
        ({ settled, failed } = await settledCount(counts));
        if (settled >= nextMark) {
          // Busy: leads still flowing. Then intake held until every accepted lead settled, and 2 s idle:
          // what the process keeps, without the garbage of the leads in flight.
          const busy = await rssNow(child.pid as number);
          holding = true;
          while (settled < accepted && polling) {
            await sleep(100);
            ({ settled, failed } = await settledCount(counts));
          }
          await sleep(2000);
          const rss = await rssNow(child.pid as number);
          holding = false;
          marks.push({
            leads: nextMark,
            rssMb: rss,
            busyRssMb: busy,
            seconds: Math.round((performance.now() - t0) / 1000),
            load1: Number(loadavg()[0]?.toFixed(1)),
          });
          console.error(`${profile}: ${nextMark} leads settled, RSS ${rss} MB at rest (${busy} MB busy)`);
          nextMark += MARK;
          if (nextMark > LEADS) polling = false;
        }
        await sleep(100);
      }
    })();
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (sent < LEADS) {
          if (holding || accepted - settled >= BACKLOG) {
            await sleep(20);
            continue;
          }
          const i = sent++;
          const body = JSON.stringify(distinctLead(SAMPLES[i % SAMPLES.length] ?? {}, `mem-${tag}-${i}`));
          const status = (await postLead(agent, port, body)).status;
          if (status === 202) accepted++;
          else rejected++;
        }
      }),
    );
    if (rejected > 0) polling = false;
    await poll;
    const first = marks[0]?.rssMb ?? Number.NaN;
    const last = marks.at(-1)?.rssMb ?? Number.NaN;
    const change = (last - first) / first;
    return {
      profile,
      idleRssMb: idle,
      leads: LEADS,
      accepted,
      rejected,
      failed,
      marks,
      rssChangeFirstToLastMark: `${change >= 0 ? "+" : ""}${(change * 100).toFixed(1)}%`,
      leadsPerSecond: Math.round(LEADS / ((performance.now() - t0) / 1000)),
      met: { idle: idle <= IDLE_TARGET_MB, flat: Math.abs(change) <= FLAT_WITHIN && rejected === 0 },
    };
  } finally {
    await stopChild(child, 15_000);
    await store?.close();
    await redis?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const profiles = values.profile === "both" ? (["embedded", "redis"] as const) : [values.profile];
const load = loadavg()[0];
const results = [];
for (const profile of profiles) results.push(await profileRun(profile as "embedded" | "redis"));
agent.destroy();
console.log(
  JSON.stringify({
    bench: "memory",
    command: "node --max-semi-space-size=16 server.ts (npm start)",
    results,
    targets: {
      idleRssMb: `<= ${IDLE_TARGET_MB}`,
      rss: `within ±${FLAT_WITHIN * 100}% from ${MARK} to ${LEADS} leads`,
    },
    loadavg1: { start: Number(load?.toFixed(2)), end: Number(loadavg()[0]?.toFixed(2)) },
    node: process.version,
  }),
);
