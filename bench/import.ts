/**
 * A 50,000-row list import against the running service, and the webhook's latency for live leads while it
 * runs. The service is `server.ts` as `npm start` runs it (host and workers in one process, embedded
 * profile by default, `--redis` for the Redis profile on a private redis-server), in a child process on a
 * loopback port; the import is `leadgraph import` in another child process, as RevOps would run it.
 *
 * Phases, each with the same open-loop live traffic (`--rate` distinct leads a second, whatever the
 * answers' speed, so a slow answer cannot hold back the next request):
 *   1. baseline: live traffic only, `--baseline` seconds;
 *   2. import intake: while `leadgraph import` stores and queues the 50,000 rows;
 *   3. import processing: `--processing` seconds more, while the import lane runs the queued rows.
 * It prints p50/p99 of the live answers per phase, the import's intake rate (rows stored and queued a
 * second) and the import lane's processing rate (import leads completed a second, from /metrics), and the
 * machine's load average. Bounded: the import may take at most `--max-import` seconds; everything stops.
 *
 * Usage: node bench/import.ts [--rows 50000] [--rate 20] [--baseline 30] [--processing 60]
 *   [--redis] [--max-import 600]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { freePort, startRedis, type TestRedis } from "../test/helpers/redis-server.ts";
import { SAMPLES, withEmail } from "./samples.ts";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "50000" },
    rate: { type: "string", default: "20" },
    baseline: { type: "string", default: "30" },
    processing: { type: "string", default: "60" },
    "max-import": { type: "string", default: "600" },
    redis: { type: "boolean", default: false },
  },
});
const ROWS = Number(values.rows);
const RATE = Number(values.rate);

const COUNTRIES = ["US", "Germany", "United Kingdom", "France", "Canada", "Japan", "Brazil", "Australia"];
const TITLES = ["VP Engineering", "Head of Data", "CTO", "Marketing Manager", "Analyst", "Director of Sales"];

/** A badge-scan style list: distinct emails, some quoted commas, `;`-free. */
function csv(rows: number): string {
  const lines = ["email,first_name,last_name,company,title,country,website"];
  for (let i = 0; i < rows; i++) {
    const company = i % 7 === 0 ? `"Company ${i % 500}, Inc."` : `Company ${i % 500}`;
    lines.push(
      `person${i}@company${i % 500}.example.com,First${i},Last${i},${company},${TITLES[i % TITLES.length]},` +
        `${COUNTRIES[i % COUNTRIES.length]},company${i % 500}.example.com`,
    );
  }
  return `${lines.join("\n")}\n`;
}

function child(args: string[], env: Record<string, string>, stdout: "pipe" | "ignore"): ChildProcess {
  return spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", stdout, "inherit"],
  });
}

async function waitForReady(url: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if ((await fetch(`${url}/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error("service did not become ready");
    await sleep(100);
  }
}

/** Open-loop live leads until `stop()`: latencies in ms of 2xx answers, and how many were not 2xx. */
function liveTraffic(url: string, tag: string) {
  const latencies: number[] = [];
  let failures = 0;
  let n = 0;
  const inflight = new Set<Promise<void>>();
  const timer = setInterval(() => {
    const sample = SAMPLES[n % SAMPLES.length] as Record<string, unknown>;
    const body = JSON.stringify(withEmail(sample, `live.${tag}.${n}.${Date.now()}@bramblewick.com`));
    n += 1;
    const started = performance.now();
    const request = fetch(`${url}/webhooks/lead`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    })
      .then(async (res) => {
        await res.arrayBuffer();
        if (res.status >= 200 && res.status < 300) latencies.push(performance.now() - started);
        else failures += 1;
      })
      .catch(() => {
        failures += 1;
      });
    inflight.add(request);
    void request.finally(() => inflight.delete(request));
  }, 1000 / RATE);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(inflight);
      return { latencies, failures };
    },
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function summary(name: string, run: { latencies: number[]; failures: number }, seconds: number) {
  const sorted = [...run.latencies].sort((a, b) => a - b);
  return {
    phase: name,
    seconds: Math.round(seconds),
    answers: sorted.length,
    non2xx: run.failures,
    p50ms: Number(percentile(sorted, 50).toFixed(1)),
    p99ms: Number(percentile(sorted, 99).toFixed(1)),
    load1: Number(loadavg()[0]?.toFixed(1)),
  };
}

/**
 * Import leads finished (completed or failed) so far. Embedded: counted in the service's SQLite file (a
 * reader beside the service's writer, which WAL allows). Redis: the import queue's finished jobs.
 */
async function importFinished(dataDir: string, redisUrl: string | undefined): Promise<number> {
  if (redisUrl) {
    // The bench's own redis-server: a connection made from the URL (BullMQ's option object has no `url`).
    const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const queue = new Queue("leads-bulk", { connection, prefix: "lg:bull" });
    try {
      const left = await queue.getJobCountByTypes("waiting", "active", "delayed", "prioritized");
      return ROWS - left;
    } finally {
      await queue.close();
      connection.disconnect();
    }
  }
  const db = new DatabaseSync(join(dataDir, "leadgraph.db"), { readOnly: true });
  try {
    const row = db
      .prepare(
        "SELECT COUNT(*) AS n FROM leads WHERE source = 'import' AND status IN ('completed', 'failed')",
      )
      .get() as { n: number };
    return Number(row.n);
  } finally {
    db.close();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "leadgraph-bench-import-"));
  let redis: TestRedis | undefined;
  let server: ChildProcess | undefined;
  try {
    const file = join(dir, "leads.csv");
    writeFileSync(file, csv(ROWS));
    if (values.redis) redis = await startRedis();
    const port = await freePort();
    const env: Record<string, string> = {
      DATA_DIR: join(dir, "data"),
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
      WORKER_CONCURRENCY: "4",
      IMPORT_CONCURRENCY: "1",
      REDIS_URL: redis ? `${redis.url}/0` : "",
    };
    const url = `http://127.0.0.1:${port}`;
    server = child(["server.ts"], env, "ignore");
    await waitForReady(url, 60_000);
    console.log(`profile ${values.redis ? "redis" : "embedded"}; ${ROWS} rows; live rate ${RATE}/s`);

    // Warm-up: the first leads pay for JIT and lazy loading.
    const warm = liveTraffic(url, "warm");
    await sleep(5_000);
    await warm.stop();

    const baselineStart = performance.now();
    const baseline = liveTraffic(url, "base");
    await sleep(Number(values.baseline) * 1000);
    const base = summary(
      "baseline (no import)",
      await baseline.stop(),
      (performance.now() - baselineStart) / 1000,
    );

    const finished = () => importFinished(env.DATA_DIR as string, env.REDIS_URL || undefined);
    const intakeStart = performance.now();
    const during = liveTraffic(url, "intake");
    const cli = child(["cli.ts", "import", file, "--json"], env, "pipe");
    let out = "";
    cli.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => cli.once("exit", resolve));
    const code = await Promise.race([
      exited,
      sleep(Number(values["max-import"]) * 1000).then(() => "timeout"),
    ]);
    if (code === "timeout") {
      cli.kill("SIGKILL");
      throw new Error("import did not finish within --max-import");
    }
    const intakeSeconds = (performance.now() - intakeStart) / 1000;
    const intake = summary("import intake", await during.stop(), intakeSeconds);
    const report = JSON.parse(out) as {
      accepted: number;
      duplicates: number;
      rejected: number;
      seconds: number;
    };

    const processingStart = performance.now();
    const finishedAtIntakeEnd = await finished();
    const processing = liveTraffic(url, "processing");
    await sleep(Number(values.processing) * 1000);
    const proc = await processing.stop();
    const finishedAfter = await finished();
    const processingSeconds = (performance.now() - processingStart) / 1000;
    const processed = summary("import processing", proc, processingSeconds);

    console.table([base, intake, processed]);
    console.log(
      JSON.stringify(
        {
          import: {
            rows: ROWS,
            accepted: report.accepted,
            duplicates: report.duplicates,
            rejected: report.rejected,
            // The CLI's own time (reading, checking, storing and queueing every row), without its start-up.
            intakeSeconds: report.seconds,
            intakeRowsPerSecond: Math.round(ROWS / report.seconds),
            importLeadsFinishedDuringIntake: finishedAtIntakeEnd,
            importLeadsFinishedPerSecondAfterIntake: Number(
              ((finishedAfter - finishedAtIntakeEnd) / processingSeconds).toFixed(1),
            ),
          },
          liveP99Ratio: {
            intake: Number((intake.p99ms / base.p99ms).toFixed(2)),
            processing: Number((processed.p99ms / base.p99ms).toFixed(2)),
          },
        },
        null,
        2,
      ),
    );
  } finally {
    if (server && server.exitCode === null) {
      const gone = new Promise((resolve) => server?.once("exit", resolve));
      server.kill("SIGTERM");
      await Promise.race([gone, sleep(15_000)]);
      if (server.exitCode === null) server.kill("SIGKILL");
    }
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  // Everything it started is stopped by now; a lingering client timer must not keep the bench alive.
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
