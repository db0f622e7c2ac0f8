/**
 * A worker child process is killed with SIGKILL right after the checkpoint of a chosen node (each node in
 * turn, both profiles). A restarted worker then delivers the lead (a qualified lead then waits for its owner,
 * `awaiting`; a nurture lead completes); the nodes that had finished are not run again, and the owner
 * message and the CRM contact exist exactly once.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATABASE_FILE } from "../app/runtime.ts";
import type { LeadStore } from "../store/lead-store.ts";
import { RedisLeadStore } from "../store/redis-lead-store.ts";
import { SqliteLeadStore } from "../store/sqlite-lead-store.ts";
import { NURTURE_LEAD, QUALIFIED_LEAD, sampleLead, waitForStatus } from "./helpers/app.ts";
import { crmContactsFor, outboxMessagesFor } from "./helpers/outbox.ts";
import { startRedis, type TestRedis } from "./helpers/redis-server.ts";
import { ingest, logLines, startWorker, within } from "./helpers/workers.ts";

const QUALIFIED_PATH = ["capture", "enrich", "scoreLead", "routeLead", "summarize", "notifyOwner", "syncCrm"];
const NURTURE_PATH = ["capture", "enrich", "scoreLead", "routeLead", "nurtureLead", "syncCrm"];

/** Two worker processes per case, eight cases at once: hang guards, generous for a loaded two-core machine. */
const CASE_TIMEOUT_MS = 300_000;

const CASES = [
  ...QUALIFIED_PATH.map((node) => ({ node, lead: QUALIFIED_LEAD, path: QUALIFIED_PATH })),
  { node: "nurtureLead", lead: NURTURE_LEAD, path: NURTURE_PATH },
];

function startsOf(lines: string[], leadId: string): string[] {
  return lines.filter((l) => l.startsWith(`start ${leadId} `)).map((l) => l.split(" ")[2] ?? "");
}

async function crashAndResume(options: {
  node: string;
  lead: string;
  path: string[];
  dataDir: string;
  envVars: Record<string, string>;
  openStore: () => LeadStore;
}) {
  const { node, path, dataDir, envVars } = options;
  const log = join(dataDir, "worker.log");
  const [leadId = ""] = await ingest(envVars, [sampleLead(options.lead)]);

  const first = startWorker(envVars, ["--kill-after", node, "--log", log]);
  const crashed = await within(first.exited, 120_000, `worker killed after ${node}`, first.child);
  expect(crashed.signal, crashed.stderr).toBe("SIGKILL");
  // Start events reach the log behind the graph, so the last ones may be missing: a prefix, up to the node.
  const firstRun = startsOf(logLines(log), leadId);
  const upTo = path.indexOf(node);
  expect(firstRun).toEqual(path.slice(0, firstRun.length));
  expect(firstRun.length).toBeLessThanOrEqual(upTo + 1);

  const store = options.openStore();
  try {
    const before = await store.getLead(leadId);
    expect(before?.status).toBe("running");

    const linesBefore = logLines(log).length;
    const second = startWorker(envVars, ["--log", log]);
    try {
      const done = await within(
        waitForStatus(store, leadId, ["completed", "awaiting", "failed"], 120_000),
        125_000,
        "lead delivery after restart",
        second.child,
      );
      const waits = path.includes("notifyOwner");
      expect(done.status, JSON.stringify(done.lastError)).toBe(waits ? "awaiting" : "completed");
      // The restarted worker ran only what came after the killed node (then paused in awaitOwner).
      const secondRun = startsOf(logLines(log).slice(linesBefore), leadId);
      expect(secondRun).toEqual([...path.slice(upTo + 1), ...(waits ? ["awaitOwner"] : [])]);
      // The timeline records a step once its checkpoint is written; the killed process died inside that
      // write, so the killed node's entry is the one missing. No node appears twice.
      expect(done.timeline.filter((t) => t.status === "ok").map((t) => t.node)).toEqual(
        path.filter((n) => n !== node),
      );
    } finally {
      second.child.kill("SIGTERM");
      await within(second.exited, 15_000, "worker shutdown", second.child);
    }
  } finally {
    await store.close();
  }

  const effects = logLines(log).filter((l) => l.startsWith("effect ") && l.endsWith(` ${leadId}`));
  const expectMessage = path.includes("notifyOwner") ? 1 : 0;
  expect(effects.filter((l) => l.startsWith("effect message ")).length).toBe(expectMessage);
  expect(effects.filter((l) => l.startsWith("effect contact ")).length).toBe(1);
  expect(outboxMessagesFor(dataDir, leadId)).toBe(expectMessage);
  expect(crmContactsFor(dataDir, leadId)).toBe(1);
}

describe("crash and resume, embedded profile (SQLite)", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it.concurrent.each(CASES)(
    "SIGKILL after $node",
    async ({ node, lead, path }) => {
      const dataDir = mkdtempSync(join(tmpdir(), `leadgraph-crash-${node}-`));
      dirs.push(dataDir);
      await crashAndResume({
        node,
        lead,
        path,
        dataDir,
        envVars: { DATA_DIR: dataDir },
        openStore: () => new SqliteLeadStore({ path: join(dataDir, DATABASE_FILE) }),
      });
    },
    CASE_TIMEOUT_MS,
  );
});

describe("crash and resume, Redis profile (BullMQ)", () => {
  let redis: TestRedis;
  const dirs: string[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it.concurrent.each(CASES.map((c, i) => ({ ...c, db: i + 1 })))(
    "SIGKILL after $node",
    async ({ node, lead, path, db }) => {
      const dataDir = mkdtempSync(join(tmpdir(), `leadgraph-crash-redis-${node}-`));
      dirs.push(dataDir);
      // One Redis database per case: the cases run at once and must not take each other's jobs.
      const url = `${redis.url}/${db}`;
      await crashAndResume({
        node,
        lead,
        path,
        dataDir,
        envVars: { DATA_DIR: dataDir, REDIS_URL: url },
        openStore: () => new RedisLeadStore({ redis: url }),
      });
    },
    CASE_TIMEOUT_MS,
  );
});
