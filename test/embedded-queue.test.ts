/**
 * The embedded queue on its own: one job per lead, retries with backoff, failed jobs kept and requeued,
 * bounded concurrency, jobs that survive a restart, and a close that lets running jobs finish.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../app/logger.ts";
import { EmbeddedQueue } from "../store/queue/embedded-queue.ts";
import { backoffDelay, DEFAULT_BACKOFF_MS } from "../store/queue/job-queue.ts";

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe("EmbeddedQueue", () => {
  let dir: string;
  let db: DatabaseSync;
  const queues: EmbeddedQueue[] = [];

  function open(
    options: { attempts?: number; backoffMs?: number; clock?: () => number } = {},
  ): EmbeddedQueue {
    const queue = new EmbeddedQueue({ db, logger: silentLogger, pollMs: 5, ...options });
    queues.push(queue);
    return queue;
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "leadgraph-queue-"));
    db = new DatabaseSync(join(dir, "queue.db"));
  });
  afterEach(async () => {
    for (const queue of queues.splice(0)) await queue.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs a resume job once per id, beside the lead's own job, and holds a timer until it is due, across a restart", async () => {
    let now = 1_000_000;
    const clock = () => now;
    const first = open({ clock });
    expect(
      await first.enqueueResume({ leadId: "a", jobId: "act:a:0", value: { type: "action", round: 0 } }),
    ).toBe(true);
    expect(await first.enqueueResume({ leadId: "a", jobId: "act:a:0", value: { type: "other" } })).toBe(
      false,
    );
    expect(
      await first.enqueueResume({
        leadId: "a",
        jobId: "sla:a:0",
        value: { type: "timer" },
        runAt: now + 60_000,
      }),
    ).toBe(true);
    await first.enqueue("a");
    // The timer is not work waiting until it is due.
    expect(await first.depth()).toBe(2);
    await first.close();

    // A restarted process finds both; the timer runs only once the clock reaches it.
    const second = open({ clock });
    const runs: Array<{ leadId: string; resume?: unknown }> = [];
    second.start(
      async (leadId, run) => {
        runs.push({ leadId, ...(run.resume ? { resume: run.resume } : {}) });
      },
      { concurrency: 2 },
    );
    await until(() => runs.length === 2, "the action and the lead's job");
    expect(runs).toContainEqual({
      leadId: "a",
      resume: { jobId: "act:a:0", value: { type: "action", round: 0 } },
    });
    expect(runs).toContainEqual({ leadId: "a" });
    await sleep(50);
    expect(runs).toHaveLength(2);
    now += 60_000;
    await until(() => runs.length === 3, "the timer");
    expect(runs[2]).toEqual({ leadId: "a", resume: { jobId: "sla:a:0", value: { type: "timer" } } });
    await until(async () => (await second.depth()) === 0, "jobs done");
    // Done and gone: the same id may be queued again (the runner makes a stale one a no-op).
    expect(await second.enqueueResume({ leadId: "a", jobId: "act:a:0", value: {} })).toBe(true);
  });

  it("queues a resume id again once its job failed for good, as BullMQ does; not while it waits or runs", async () => {
    const queue = open({ attempts: 1 });
    expect(await queue.enqueueResume({ leadId: "a", jobId: "act:a:0", value: { n: 1 } })).toBe(true);
    const runs: unknown[] = [];
    queue.start(
      async (_leadId, run) => {
        runs.push(run.resume?.value);
        if (runs.length === 1) throw new Error("the store was down");
      },
      { concurrency: 1 },
    );
    const state = () =>
      (db.prepare("SELECT state FROM jobs WHERE lead_id = 'act:a:0'").get() as { state?: string } | undefined)
        ?.state;
    await until(() => state() === "failed", "the resume failed for good");
    // A later action of the same wait round takes the job's place, with its own value.
    expect(await queue.enqueueResume({ leadId: "a", jobId: "act:a:0", value: { n: 2 } })).toBe(true);
    await until(() => runs.length === 2, "the second action");
    expect(runs).toEqual([{ n: 1 }, { n: 2 }]);
    await until(() => state() === undefined, "done and gone");
    // Still one job per id while it waits.
    const held = open();
    expect(
      await held.enqueueResume({ leadId: "b", jobId: "sla:b:0", value: {}, runAt: Date.now() + 3_600_000 }),
    ).toBe(true);
    expect(
      await held.enqueueResume({ leadId: "b", jobId: "sla:b:0", value: {}, runAt: Date.now() + 3_600_000 }),
    ).toBe(false);
  });

  it("remove drops the lead's job and its resume jobs, not other leads' (retention)", async () => {
    const queue = open();
    await queue.enqueue("a");
    await queue.enqueue("b");
    await queue.enqueueResume({ leadId: "a", jobId: "sla:a:0", value: {}, runAt: Date.now() + 3_600_000 });
    await queue.enqueueResume({ leadId: "b", jobId: "sla:b:0", value: {}, runAt: Date.now() + 3_600_000 });
    await queue.remove("a");
    const ids = db
      .prepare("SELECT lead_id FROM jobs ORDER BY lead_id")
      .all()
      .map((row) => String(row.lead_id));
    expect(ids).toEqual(["b", "sla:b:0"]);
  });

  it("keeps one job per lead however often it is enqueued", async () => {
    const queue = open();
    await Promise.all([queue.enqueue("a"), queue.enqueue("a"), queue.enqueue("a"), queue.enqueue("b")]);
    expect(await queue.depth()).toBe(2);
    const runs: string[] = [];
    queue.start(
      async (leadId) => {
        runs.push(leadId);
      },
      { concurrency: 2 },
    );
    await until(async () => (await queue.depth()) === 0, "jobs done");
    expect(runs.sort()).toEqual(["a", "b"]);
  });

  it("runs live jobs before bulk ones, and bulk jobs only in their own slots", async () => {
    const queue = open();
    for (let i = 0; i < 6; i++) await queue.enqueue(`bulk-${i}`, { lane: "bulk" });
    for (let i = 0; i < 3; i++) await queue.enqueue(`live-${i}`);
    const started: string[] = [];
    let runningBulk = 0;
    let maxBulk = 0;
    queue.start(
      async (leadId) => {
        started.push(leadId);
        if (leadId.startsWith("bulk")) {
          runningBulk += 1;
          maxBulk = Math.max(maxBulk, runningBulk);
          await sleep(10);
          runningBulk -= 1;
        }
      },
      { concurrency: 4, bulkConcurrency: 1 },
    );
    await until(async () => (await queue.depth()) === 0, "jobs done");
    expect(started).toHaveLength(9);
    // The live jobs, enqueued last, were all taken before the second bulk job.
    expect(started.indexOf("live-2")).toBeLessThan(started.indexOf("bulk-1"));
    expect(maxBulk).toBe(1);
  });

  it("adds the lane column to a jobs table made before lanes existed", async () => {
    db.exec(`CREATE TABLE jobs (lead_id TEXT PRIMARY KEY, state TEXT NOT NULL, attempts_made INTEGER NOT NULL DEFAULT 0,
      max_attempts INTEGER NOT NULL, run_at_ms INTEGER NOT NULL, owner TEXT, lease_until_ms INTEGER, last_error TEXT,
      created_at_ms INTEGER NOT NULL, updated_at_ms INTEGER NOT NULL) STRICT`);
    db.exec("INSERT INTO jobs VALUES ('old', 'waiting', 0, 3, 0, NULL, NULL, NULL, 0, 0)");
    const queue = open();
    await queue.enqueue("imported", { lane: "bulk" });
    const runs: string[] = [];
    queue.start(
      async (leadId) => {
        runs.push(leadId);
      },
      { concurrency: 1 },
    );
    await until(async () => (await queue.depth()) === 0, "jobs done");
    expect(runs).toEqual(["old", "imported"]);
  });

  it("retries a failing job with exponential backoff, then keeps it failed; requeue runs it again", async () => {
    const queue = open({ attempts: 3, backoffMs: 20 });
    const at: number[] = [];
    let fail = true;
    queue.start(
      async () => {
        at.push(Date.now());
        if (fail) throw new Error("vendor down");
      },
      { concurrency: 1 },
    );
    await queue.enqueue("lead-1");
    await until(() => at.length === 3, "three attempts");
    await until(
      () => db.prepare("SELECT state FROM jobs WHERE lead_id = 'lead-1'").get()?.state === "failed",
      "failed state",
    );
    const row = db.prepare("SELECT attempts_made, last_error FROM jobs WHERE lead_id = 'lead-1'").get();
    expect(row).toMatchObject({ attempts_made: 3, last_error: "vendor down" });
    // Waited at least the backoff between attempts (a lower bound, not a timing assertion on speed).
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(backoffDelay(1, 20));
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(backoffDelay(2, 20));
    expect(await queue.depth()).toBe(0);

    fail = false;
    await queue.enqueue("lead-1");
    await sleep(30);
    expect(at).toHaveLength(3);
    await queue.requeue("lead-1");
    await until(() => at.length === 4, "requeued run");
    await until(() => db.prepare("SELECT COUNT(*) AS n FROM jobs").get()?.n === 0, "job removed");
  });

  it("waits the backoff before each retry: backoff, then twice that (default backoff when not set)", async () => {
    let now = 1_000_000;
    const queue = open({ attempts: 3, clock: () => now });
    let runs = 0;
    queue.start(
      async () => {
        runs += 1;
        throw new Error("vendor down");
      },
      { concurrency: 1 },
    );
    const job = () =>
      db.prepare("SELECT state, attempts_made, run_at_ms FROM jobs WHERE lead_id = 'lead-b'").get();
    await queue.enqueue("lead-b");
    await until(() => job()?.attempts_made === 1, "first failure");
    expect(job()).toMatchObject({ state: "waiting", run_at_ms: now + DEFAULT_BACKOFF_MS });
    // Not due yet: the poller leaves it alone until the clock reaches the retry time.
    await sleep(30);
    expect(runs).toBe(1);
    now += DEFAULT_BACKOFF_MS;
    await until(() => job()?.attempts_made === 2, "second failure");
    expect(job()).toMatchObject({ state: "waiting", run_at_ms: now + 2 * DEFAULT_BACKOFF_MS });
    now += 2 * DEFAULT_BACKOFF_MS;
    await until(() => job()?.state === "failed", "failed for good");
    expect(runs).toBe(3);
  });

  it("never runs more jobs at once than its concurrency", async () => {
    const queue = open();
    for (let i = 0; i < 20; i++) await queue.enqueue(`lead-${i}`);
    let running = 0;
    let peak = 0;
    let done = 0;
    queue.start(
      async () => {
        running += 1;
        peak = Math.max(peak, running);
        await sleep(5);
        running -= 1;
        done += 1;
      },
      { concurrency: 3 },
    );
    await until(() => done === 20, "all jobs");
    expect(peak).toBe(3);
  });

  it("picks up jobs left by a previous process at start", async () => {
    const first = open();
    await first.enqueue("waiting-lead");
    // A job claimed by a process that no longer exists (pid 2^22 + 1 is never a live pid here).
    db.prepare(
      `INSERT INTO jobs (lead_id, state, attempts_made, max_attempts, run_at_ms, owner, lease_until_ms, created_at_ms, updated_at_ms)
       VALUES ('orphaned-lead', 'active', 0, 3, 0, ?, ?, 0, 0)`,
    ).run(`${(await import("node:os")).hostname()}|4194305|dead`, Date.now() + 60_000);
    await first.close();

    const second = open();
    const runs: string[] = [];
    second.start(
      async (leadId) => {
        runs.push(leadId);
      },
      { concurrency: 2 },
    );
    await until(() => runs.length === 2, "both jobs");
    expect(runs.sort()).toEqual(["orphaned-lead", "waiting-lead"]);
  });

  it("counts a run cut short by a dead worker as an attempt, and fails the job when none is left", async () => {
    const { hostname } = await import("node:os");
    const dead = `${hostname()}|4194305|dead`;
    const queue = open({ attempts: 3 });
    const claimed = db.prepare(
      `INSERT INTO jobs (lead_id, state, attempts_made, max_attempts, run_at_ms, owner, lease_until_ms, created_at_ms, updated_at_ms)
       VALUES (?, 'active', ?, 3, 0, ?, ?, 0, 0)`,
    );
    // One whose earlier runs all killed their process, one on its first run.
    claimed.run("kills-its-worker", 2, dead, Date.now() + 60_000);
    claimed.run("interrupted-once", 0, dead, Date.now() + 60_000);
    const runs: Array<{ leadId: string; attempt: number }> = [];
    queue.start(
      async (leadId, run) => {
        runs.push({ leadId, attempt: run.attempt });
      },
      { concurrency: 2 },
    );
    await until(() => runs.length === 1, "the interrupted job's next run");
    // Its second attempt, not a fresh first one.
    expect(runs).toEqual([{ leadId: "interrupted-once", attempt: 2 }]);
    expect(await queue.inspect("kills-its-worker")).toEqual({
      state: "failed",
      attemptsMade: 3,
      maxAttempts: 3,
      failedReason: "the worker running it stopped (3 of 3 runs)",
    });
  });

  it("tells the handler its attempt and the delay before the next one (none on the last)", async () => {
    const queue = open({ attempts: 3, backoffMs: 5 });
    const runs: Array<{ attempt: number; maxAttempts: number; retryDelayMs?: number; probe: boolean }> = [];
    queue.start(
      async (_leadId, run) => {
        runs.push(run);
        throw new Error("down");
      },
      { concurrency: 1 },
    );
    await queue.enqueue("lead-r");
    await until(async () => (await queue.inspect("lead-r"))?.state === "failed", "failed for good");
    expect(runs).toEqual([
      { attempt: 1, maxAttempts: 3, retryDelayMs: backoffDelay(1, 5), probe: false },
      { attempt: 2, maxAttempts: 3, retryDelayMs: backoffDelay(2, 5), probe: false },
      { attempt: 3, maxAttempts: 3, probe: false },
    ]);
    // An admin retry's run probes; the queue's own retries of it do not.
    runs.length = 0;
    await queue.requeue("lead-r", { probe: true });
    await until(async () => runs.length === 3, "three more runs");
    expect(runs.map((r) => r.probe)).toEqual([true, false, false]);
    expect(await queue.inspect("nope")).toBeNull();
  });

  it("close waits for running jobs and takes no new ones", async () => {
    const queue = open();
    let finished = false;
    let started = 0;
    queue.start(
      async () => {
        started += 1;
        await sleep(50);
        finished = true;
      },
      { concurrency: 1 },
    );
    await queue.enqueue("slow");
    await until(() => started === 1, "start");
    await queue.enqueue("next");
    await queue.close();
    expect(finished).toBe(true);
    expect(started).toBe(1);
    expect(await queue.depth()).toBe(1);
  });
});
