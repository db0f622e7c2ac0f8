/**
 * Memory and storage per batch of leads once the retention window has passed (issue 8, item 7): the service's
 * runtime (webhook path: `LeadService.accept`, the queue workers, the graph with the stand-ins on the profile's
 * database) takes `--batches` batches of `--leads` distinct leads one after another. After each batch has
 * settled, the retention clock is set so that the window ends where the batch began and a sweep runs: every
 * earlier batch is past the window, the last one inside it. Printed per batch: leads held, process RSS (after
 * a GC), and the storage: the SQLite file and its WAL (embedded), Redis `used_memory` and key count (Redis
 * profile; the stand-ins' SQLite file too). Flat figures from the second batch on are the claim.
 * `--no-retention` runs the same batches without sweeps, for the growth retention prevents.
 *
 * Usage: node --expose-gc bench/retention.ts [--profile embedded|redis] [--leads 10000] [--batches 3]
 *   [--concurrency 8] [--no-retention]
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { createLogger } from "../app/logger.ts";
import { DAY_MS } from "../app/retention.ts";
import { createRuntime, DATABASE_FILE } from "../app/runtime.ts";
import { parseEnv } from "../config/env.ts";
import { startRedis, type TestRedis } from "../test/helpers/redis-server.ts";
import { distinctLead, SAMPLES } from "./samples.ts";

const { values } = parseArgs({
  options: {
    profile: { type: "string", default: "embedded" },
    leads: { type: "string", default: "10000" },
    batches: { type: "string", default: "3" },
    concurrency: { type: "string", default: "8" },
    "no-retention": { type: "boolean", default: false },
  },
});
const LEADS = Number(values.leads);
const BATCHES = Number(values.batches);
const RETENTION = !values["no-retention"];
const WINDOW_DAYS = 1;

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const size = (path: string) => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

const dataDir = mkdtempSync(join(tmpdir(), "leadgraph-retention-bench-"));
let redis: TestRedis | undefined;
if (values.profile === "redis") redis = await startRedis();
const env = parseEnv({
  DATA_DIR: dataDir,
  LOG_LEVEL: "silent",
  WORKER_CONCURRENCY: values.concurrency,
  RETENTION_COMPLETED_DAYS: String(WINDOW_DAYS),
  ...(redis ? { REDIS_URL: redis.url } : {}),
});
let offsetMs = 0;
const runtime = await createRuntime(env, {
  logger: createLogger({ level: "silent" }),
  worker: true,
  // The sweeps below are the bench's own; the runtime's periodic one waits for a day.
  retentionIntervalMs: DAY_MS,
  clock: () => new Date(Date.now() + offsetMs),
});
const probe = redis ? new Redis(redis.url) : undefined;

console.log(
  `retention bench: ${values.profile} profile, ${BATCHES} x ${LEADS} leads, window ${WINDOW_DAYS} day (clock moved), ` +
    `${RETENTION ? "sweep after each batch" : "no sweep"}; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(", ")}`,
);
console.log(
  "| batch | leads held | swept | RSS MB | SQLite file MB | WAL MB | Redis used_memory MB | Redis keys | seconds |",
);
console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
try {
  for (let batch = 1; batch <= BATCHES; batch++) {
    const started = Date.now();
    let next = 0;
    const accept = async () => {
      for (let i = next++; i < LEADS; i = next++) {
        const body = distinctLead(SAMPLES[i % SAMPLES.length] as Record<string, unknown>, `r${batch}n${i}`);
        const result = await runtime.service.accept({ body });
        if (!result.ok) throw new Error(`intake refused a lead: ${JSON.stringify(result)}`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, accept));
    for (;;) {
      const counts = await runtime.store.countByStatus();
      if (counts.queued + counts.running + counts.retrying === 0) break;
      await sleep(200);
    }
    let swept = 0;
    if (RETENTION) {
      // The window ends where this batch began: the earlier batches are past it.
      offsetMs = started + WINDOW_DAYS * DAY_MS - Date.now();
      swept = (await runtime.retention.sweep()).deleted;
    }
    const counts = await runtime.store.countByStatus();
    const held = Object.values(counts).reduce((a, b) => a + b, 0);
    (globalThis as { gc?: () => void }).gc?.();
    const rss = process.memoryUsage().rss;
    const file = join(dataDir, DATABASE_FILE);
    let usedMemory = "-";
    let keys = "-";
    if (probe) {
      usedMemory = mb(Number(/used_memory:(\d+)/.exec(await probe.info("memory"))?.[1] ?? 0));
      keys = String(await probe.dbsize());
    }
    console.log(
      `| ${batch} | ${held} | ${swept} | ${mb(rss)} | ${mb(size(file))} | ${mb(size(`${file}-wal`))} | ${usedMemory} | ${keys} | ${((Date.now() - started) / 1000).toFixed(0)} |`,
    );
  }
} finally {
  probe?.disconnect();
  await runtime.close({ timeoutMs: 10_000 });
  await redis?.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
console.log(
  `load average at end ${loadavg()
    .map((l) => l.toFixed(2))
    .join(", ")}`,
);
