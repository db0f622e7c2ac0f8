/**
 * The service's memory: resident set size (VmRSS) idle after start, and as processed leads pile up, from
 * `--mark` (5,000) to `--leads` (50,000), against the targets (idle at most 150 MB; flat within ±10% from
 * the first mark to the last).
 *
 * The service is started as an npm script starts it (`--script`, default `start:dist`: `node
 * --max-semi-space-size=16 dist/server.js`, the compiled service production runs, `npm run build` first;
 * `--script start` measures `npm start`, which strips TypeScript types at run time), its Node flags read from
 * package.json so the bench measures what the script runs; `--node-flags` adds flags to try. Host and workers
 * in one process, info logs to /dev/null, the per-client rate limit off so one sender may post every lead, on
 * the embedded profile (SQLite in a fresh DATA_DIR) or the Redis profile (a private redis-server). Idle RSS is
 * the median of ten readings over the last second of `--idle-ms` after the first healthy answer. Then distinct
 * leads are posted to POST /webhooks/lead, `--connections` at a time, holding the backlog (accepted, not yet
 * settled) at `--backlog` at most, so memory measures processed leads and not a queue growing in the process.
 * A lead is settled when `completed` or `awaiting` (delivered, waiting for its owner), or `failed`; the bench
 * reads the counts from the store, as another process would. At every mark RSS is read twice, each the median
 * of ten readings over one second: busy (leads still flowing), then at rest (intake held until every accepted
 * lead settled, then the last second of `--rest-ms` idle), which is what the process keeps; the flatness
 * target is judged at rest. (The service hands memory back a few seconds into a quiet spell,
 * app/memory-release.ts: 5 s at rest includes that, 2 s, the default before it, did not.) With
 * each reading at rest go the V8 heap's committed and used sizes from the service's own GET /metrics (no full
 * GC forced: used includes garbage not yet collected), which tell the heap from the rest of the RSS.
 *
 * Usage: node bench/memory.ts [--profile embedded|redis|both] [--script start:dist|start] [--node-flags "..."]
 *        [--leads 50000] [--mark 5000] [--backlog 200] [--connections 8] [--idle-ms 5000] [--rest-ms 5000]
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
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
    script: { type: "string", default: "start:dist" },
    "node-flags": { type: "string", default: "" },
    leads: { type: "string", default: "50000" },
    mark: { type: "string", default: "5000" },
    backlog: { type: "string", default: "200" },
    connections: { type: "string", default: "8" },
    "idle-ms": { type: "string", default: "5000" },
    "rest-ms": { type: "string", default: "5000" },
  },
});
const LEADS = Number(values.leads);
const MARK = Number(values.mark);
const BACKLOG = Number(values.backlog);
const CONNECTIONS = Number(values.connections);
const IDLE_TARGET_MB = 150;
const FLAT_WITHIN = 0.1;

/** The node arguments of an npm script of the form `sh bin/with-node.sh node <flags…> <entry>`. */
function scriptArgs(name: string): string[] {
  const scripts = (JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> })
    .scripts;
  const words = (scripts[name] ?? "").split(/\s+/).filter(Boolean);
  const at = words.indexOf("node");
  const args = words.slice(at + 1);
  if (at === -1 || args.length === 0) throw new Error(`npm script ${name} does not run node`);
  const extra = values["node-flags"].split(/\s+/).filter(Boolean);
  const entry = args.at(-1) as string;
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  return [...args.slice(0, -1), ...extra, entry];
}
const NODE_ARGS = scriptArgs(values.script);

/** The V8 heap as the service reports it on GET /metrics (prom-client's default metrics), in MB. */
async function heapMb(port: number): Promise<{ heapTotalMb: number; heapUsedMb: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const read = (name: string) =>
    Math.round(Number(text.match(new RegExp(`^leadgraph_${name} (\\S+)$`, "m"))?.[1] ?? Number.NaN) / 1e6);
  return {
    heapTotalMb: read("nodejs_heap_size_total_bytes"),
    heapUsedMb: read("nodejs_heap_size_used_bytes"),
  };
}

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
  const child = spawn(process.execPath, NODE_ARGS, {
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
    const idleHeap = await heapMb(port);
    console.error(`${profile}: idle ${idle} MB (heap ${idleHeap.heapUsedMb} of ${idleHeap.heapTotalMb} MB)`);

    const tag = randomUUID().slice(0, 8);
    let sent = 0;
    let accepted = 0;
    let rejected = 0;
    let settled = 0;
    let failed = 0;
    const marks: Array<{
      leads: number;
      rssMb: number;
      busyRssMb: number;
      heapTotalMb: number;
      heapUsedMb: number;
      seconds: number;
      load1: number;
    }> = [];
    const t0 = performance.now();
    let polling = true;
    let holding = false;
    const poll = (async () => {
      let nextMark = MARK;
      while (polling) {
        ({ settled, failed } = await settledCount(counts));
        if (settled >= nextMark) {
          // Busy: leads still flowing. Then intake held until every accepted lead settled, and idle:
          // what the process keeps, without the garbage of the leads in flight.
          const busy = await rssNow(child.pid as number);
          holding = true;
          while (settled < accepted && polling) {
            await sleep(100);
            ({ settled, failed } = await settledCount(counts));
          }
          await sleep(Math.max(0, Number(values["rest-ms"]) - 1000));
          const rss = await rssNow(child.pid as number);
          const heap = await heapMb(port);
          holding = false;
          marks.push({
            leads: nextMark,
            rssMb: rss,
            busyRssMb: busy,
            ...heap,
            seconds: Math.round((performance.now() - t0) / 1000),
            load1: Number(loadavg()[0]?.toFixed(1)),
          });
          console.error(
            `${profile}: ${nextMark} leads settled, RSS ${rss} MB at rest (${busy} MB busy), heap ${heap.heapUsedMb} of ${heap.heapTotalMb} MB`,
          );
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
    const percent = (x: number) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}%`;
    /** Every mark against the first: the last one's change, and the widest. */
    const spread = (of: (mark: (typeof marks)[number]) => number) => {
      const first = marks[0] ? of(marks[0]) : Number.NaN;
      const changes = marks.map((m) => (of(m) - first) / first);
      const widest = changes.reduce((a, b) => (Math.abs(b) > Math.abs(a) ? b : a), 0);
      return { last: changes.at(-1) ?? Number.NaN, widest };
    };
    const rest = spread((m) => m.rssMb);
    const busy = spread((m) => m.busyRssMb);
    return {
      profile,
      idleRssMb: idle,
      idleHeap,
      leads: LEADS,
      accepted,
      rejected,
      failed,
      marks,
      rssChangeFirstToLastMark: percent(rest.last),
      rssWidestChangeFromFirstMark: percent(rest.widest),
      busyRssChangeFirstToLastMark: percent(busy.last),
      busyRssWidestChangeFromFirstMark: percent(busy.widest),
      leadsPerSecond: Math.round(LEADS / ((performance.now() - t0) / 1000)),
      // Flat: every mark at rest within ±10% of the first, not only the last.
      met: { idle: idle <= IDLE_TARGET_MB, flat: Math.abs(rest.widest) <= FLAT_WITHIN && rejected === 0 },
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
    command: `node ${NODE_ARGS.join(" ")} (npm run ${values.script}${values["node-flags"] ? ", flags added" : ""})`,
    results,
    targets: {
      idleRssMb: `<= ${IDLE_TARGET_MB}`,
      rss: `within ±${FLAT_WITHIN * 100}% of the first mark (${MARK} leads) at every mark to ${LEADS} leads, at rest`,
    },
    loadavg1: { start: Number(load?.toFixed(2)), end: Number(loadavg()[0]?.toFixed(2)) },
    node: process.version,
  }),
);
