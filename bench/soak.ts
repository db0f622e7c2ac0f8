/**
 * SIGKILL soak (issue 8): per profile and seed, `--leads` distinct leads are taken in by the webhook (intake
 * only, in this process), then worked off by a worker child process (test/helpers/crash-worker.ts, the
 * service's own runtime) that is SIGKILLed `--kills` times at random moments (when a seeded random share of
 * the leads has settled, plus a random delay) and restarted each time. The embedded stand-ins (the outbox for
 * Slack, the local CRM) keep what was written; the worker logs every vendor write it made.
 *
 * Per run it reports: leads lost (acknowledged 202, not in the store), stuck (not settled, i.e. not
 * completed, awaiting or failed, when the run ends), failed, and duplicates: owner messages, contacts, notes and
 * tasks beyond one per lead in the stand-ins' tables; and "repeated writes", vendor calls the worker made
 * again for an effect it had already made (a vendor without lookup by effect key would hold a duplicate).
 * Exit code 1 when any lost, stuck or duplicate figure is not 0.
 *
 * Usage: node bench/soak.ts [--leads 300] [--kills 8] [--seeds 1,2,3] [--profiles embedded,redis]
 *   [--concurrency 4] [--max-seconds 600]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { createLogger } from "../app/logger.ts";
import { createRuntime, DATABASE_FILE } from "../app/runtime.ts";
import { parseEnv } from "../config/env.ts";
import { buildApp } from "../http/app.ts";
import { createMetrics } from "../http/metrics.ts";
import type { LeadStore } from "../store/lead-store.ts";
import { RedisLeadStore } from "../store/redis-lead-store.ts";
import { SqliteLeadStore } from "../store/sqlite-lead-store.ts";
import { startRedis, type TestRedis } from "../test/helpers/redis-server.ts";
import { logLines, startWorker, stopWorker, type Worker, within } from "../test/helpers/workers.ts";
import { distinctLead, SAMPLES } from "./samples.ts";

const { values } = parseArgs({
  options: {
    leads: { type: "string", default: "300" },
    kills: { type: "string", default: "8" },
    seeds: { type: "string", default: "1,2,3" },
    profiles: { type: "string", default: "embedded,redis" },
    concurrency: { type: "string", default: "4" },
    "max-seconds": { type: "string", default: "600" },
  },
});
const LEADS = Number(values.leads);
const KILLS = Number(values.kills);
const SEEDS = values.seeds.split(",").map(Number);
const PROFILES = values.profiles.split(",") as Array<"embedded" | "redis">;
const MAX_MS = Number(values["max-seconds"]) * 1000;

/** mulberry32: the kill moments of a seed are the same on every machine. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The webhook only (`--no-worker`): stores and enqueues each payload; returns the ids answered 202. */
async function intake(envVars: Record<string, string>, payloads: unknown[]): Promise<string[]> {
  const env = parseEnv({ LOG_LEVEL: "silent", ...envVars });
  const logger = createLogger({ level: "silent" });
  const metrics = createMetrics({ defaultMetrics: false });
  const runtime = await createRuntime(env, { logger, worker: false, metrics });
  const app = await buildApp({ service: runtime.service, env, logger, metrics });
  try {
    const ids: string[] = [];
    for (const payload of payloads) {
      const res = await app.inject({ method: "POST", url: "/webhooks/lead", payload: payload as object });
      if (res.statusCode === 202) ids.push(res.json<{ leadId: string }>().leadId);
    }
    return ids;
  } finally {
    await app.close();
    await runtime.close();
  }
}

interface RunResult {
  profile: string;
  seed: number;
  leads: number;
  kills: number;
  completed: number;
  awaiting: number;
  failed: number;
  lost: number;
  stuck: number;
  dupMessages: number;
  dupContacts: number;
  dupNotes: number;
  dupTasks: number;
  repeatedWrites: number;
  seconds: number;
}

/** Rows per lead in the stand-ins' tables, beyond one. */
function duplicates(dataDir: string, ids: string[]) {
  const db = new DatabaseSync(join(dataDir, DATABASE_FILE), { readOnly: true });
  try {
    const has = (table: string) =>
      db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
    const perLead = (sql: string, key: (id: string) => string[]) => {
      if (!has(sql.match(/FROM (\w+)/)?.[1] ?? "")) return 0;
      const statement = db.prepare(sql);
      return ids.reduce((sum, id) => sum + Math.max(0, Number(statement.get(...key(id))?.n ?? 0) - 1), 0);
    };
    const range = (id: string) => [`${id}:`, `${id};`];
    return {
      messages: perLead("SELECT COUNT(*) AS n FROM outbox WHERE lead_id = ?", (id) => [id]),
      // Contacts are unique by email in the table; one lead's email in two rows would be a duplicate person.
      contacts: perLead("SELECT COUNT(*) AS n FROM crm_contacts WHERE lead_id = ?", (id) => [id]),
      notes: perLead("SELECT COUNT(*) AS n FROM crm_notes WHERE effect_key >= ? AND effect_key < ?", range),
      tasks: perLead("SELECT COUNT(*) AS n FROM crm_tasks WHERE effect_key >= ? AND effect_key < ?", range),
    };
  } finally {
    db.close();
  }
}

async function soak(profile: "embedded" | "redis", seed: number, redis: TestRedis | undefined, db: number) {
  const dataDir = mkdtempSync(join(tmpdir(), `leadgraph-soak-${profile}-${seed}-`));
  const url = redis ? `${redis.url}/${db}` : undefined;
  const envVars: Record<string, string> = {
    DATA_DIR: dataDir,
    WORKER_CONCURRENCY: values.concurrency,
    ...(url ? { REDIS_URL: url } : {}),
  };
  const log = join(dataDir, "worker.log");
  const random = rng(seed);
  const payloads = Array.from({ length: LEADS }, (_, i) =>
    distinctLead(SAMPLES[i % SAMPLES.length] as Record<string, unknown>, `soak${seed}n${i}`),
  );
  const ids = await intake(envVars, payloads);
  const store: LeadStore = url
    ? new RedisLeadStore({ redis: url })
    : new SqliteLeadStore({ path: join(dataDir, DATABASE_FILE) });
  // Kill when a random share of the leads (5%..90%) has settled, each a little later than the last.
  const thresholds = Array.from({ length: KILLS }, () =>
    Math.floor(ids.length * (0.05 + 0.85 * random())),
  ).sort((a, b) => a - b);
  const settledCount = async () => {
    const counts = await store.countByStatus();
    return counts.completed + counts.awaiting + counts.failed;
  };
  const started = Date.now();
  let kills = 0;
  let worker: Worker = startWorker(envVars, ["--log", log]);
  try {
    await within(worker.ready, 60_000, "worker start", worker.child);
    for (const threshold of thresholds) {
      while ((await settledCount()) < threshold && Date.now() - started < MAX_MS) await sleep(20);
      if (Date.now() - started >= MAX_MS) break;
      await sleep(Math.floor(random() * 300));
      worker.child.kill("SIGKILL");
      await within(worker.exited, 30_000, "killed worker exit");
      kills += 1;
      worker = startWorker(envVars, ["--log", log]);
      await within(worker.ready, 60_000, "worker restart", worker.child);
    }
    while ((await settledCount()) < ids.length && Date.now() - started < MAX_MS) await sleep(100);
  } finally {
    await stopWorker(worker);
  }
  const seconds = (Date.now() - started) / 1000;
  const statuses = new Map<string, number>();
  let lost = 0;
  for (const id of ids) {
    const lead = await store.getLead(id);
    if (!lead) lost += 1;
    else statuses.set(lead.status, (statuses.get(lead.status) ?? 0) + 1);
  }
  await store.close();
  const completed = statuses.get("completed") ?? 0;
  const awaiting = statuses.get("awaiting") ?? 0;
  const failed = statuses.get("failed") ?? 0;
  const dup = duplicates(dataDir, ids);
  // One vendor write per lead and effect kind is expected (a task is one per lead on either path); more means
  // the worker repeated a write instead of adopting the one it had made before it was killed.
  const writes = new Map<string, number>();
  for (const line of logLines(log)) {
    const [word, kind, leadId] = line.split(" ");
    if (word !== "effect" || kind === "contact" || kind === "message-update") continue;
    writes.set(`${kind} ${leadId}`, (writes.get(`${kind} ${leadId}`) ?? 0) + 1);
  }
  const repeatedWrites = [...writes.values()].reduce((sum, n) => sum + n - 1, 0);
  rmSync(dataDir, { recursive: true, force: true });
  return {
    profile,
    seed,
    leads: ids.length,
    kills,
    completed,
    awaiting,
    failed,
    lost,
    stuck: ids.length - lost - completed - awaiting - failed,
    dupMessages: dup.messages,
    dupContacts: dup.contacts,
    dupNotes: dup.notes,
    dupTasks: dup.tasks,
    repeatedWrites,
    seconds,
  } satisfies RunResult;
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(", ");
console.log(
  `soak: ${LEADS} leads, ${KILLS} SIGKILLs per run, seeds ${SEEDS.join(",")}; load average at start ${load()}`,
);
const redis = PROFILES.includes("redis") ? await startRedis() : undefined;
const results: RunResult[] = [];
let db = 1;
try {
  for (const profile of PROFILES) {
    for (const seed of SEEDS) {
      const result = await soak(profile, seed, profile === "redis" ? redis : undefined, db++);
      results.push(result);
      console.log(JSON.stringify(result));
    }
  }
} finally {
  await redis?.stop();
}
console.log(
  "\n| profile | seed | leads | kills | completed | awaiting | failed | lost | stuck | dup messages | dup contacts | dup notes | dup tasks | repeated writes | seconds |",
);
console.log(
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
);
for (const r of results)
  console.log(
    `| ${r.profile} | ${r.seed} | ${r.leads} | ${r.kills} | ${r.completed} | ${r.awaiting} | ${r.failed} | ${r.lost} | ${r.stuck} | ${r.dupMessages} | ${r.dupContacts} | ${r.dupNotes} | ${r.dupTasks} | ${r.repeatedWrites} | ${r.seconds.toFixed(0)} |`,
  );
console.log(`\nload average at end ${load()}`);
const bad = results.some(
  (r) => r.lost || r.stuck || r.dupMessages || r.dupContacts || r.dupNotes || r.dupTasks || r.kills < KILLS,
);
process.exit(bad ? 1 : 0);
