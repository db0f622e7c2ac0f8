/**
 * The embedded profile's queue: jobs live in a `jobs` table of the same SQLite database as the lead store,
 * so an accepted lead's job survives a crash and is picked up again at start. Jobs are claimed with a
 * lease by one UPDATE, which keeps several processes on one database file from taking the same job.
 *
 * Over 300 lines because claiming, leases, lanes, retries and the scheduler share one jobs table and its statements.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { writeIn } from "../../tools/embedded/sqlite-writes.ts";
import type { Logger } from "../../tools/ports.ts";
import type { SqliteBatch } from "../sqlite-batch.ts";
import {
  backoffDelay,
  type CloseOptions,
  DEFAULT_ATTEMPTS,
  DEFAULT_BACKOFF_MS,
  type EnqueueOptions,
  type JobHandler,
  type JobInfo,
  type JobQueue,
  type JobQueueOptions,
  type JobState,
  type Lane,
  type PauseState,
  type RequeueOptions,
  type ResumeJob,
  type StartOptions,
  settleWithin,
} from "./job-queue.ts";

export interface EmbeddedQueueOptions extends JobQueueOptions {
  /** The lead store's connection; the queue never closes it. */
  db: DatabaseSync;
  /** Group commit shared with the other writers on `db`: enqueues and outcomes commit with them. */
  batch?: SqliteBatch;
  logger: Logger;
  /** How often due jobs (backoff over, other processes' enqueues) are looked for. Default 250 ms. */
  pollMs?: number;
  /** A running job's claim outlives a dead worker by this much at most. Default 30 s. */
  leaseMs?: number;
  clock?: () => number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  lead_id TEXT PRIMARY KEY,
  state TEXT NOT NULL CHECK (state IN ('waiting', 'active', 'failed')),
  attempts_made INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  run_at_ms INTEGER NOT NULL,
  owner TEXT,
  lease_until_ms INTEGER,
  last_error TEXT,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (state, run_at_ms);
CREATE TABLE IF NOT EXISTS queue_state (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
`;

/** Lane → priority column (0 live, 1 bulk); the column came after the table, so older files get it added. */
const PRIORITY: Record<Lane, number> = { live: 0, bulk: 1 };

function migrate(db: DatabaseSync): void {
  db.exec(SCHEMA);
  const columns = db.prepare("PRAGMA table_info(jobs)").all() as Array<{ name: string }>;
  if (!columns.some((c) => c.name === "priority"))
    db.exec("ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0");
  // 1: the next run was asked for by an admin retry (JobRun.probe).
  if (!columns.some((c) => c.name === "probe"))
    db.exec("ALTER TABLE jobs ADD COLUMN probe INTEGER NOT NULL DEFAULT 0");
  db.exec("CREATE INDEX IF NOT EXISTS jobs_lane_due ON jobs (state, priority, run_at_ms)");
  // 'resume': the row's key is the resume job's id and `payload` holds {leadId, value} (JobRun.resume).
  if (!columns.some((c) => c.name === "kind")) {
    db.exec("ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'lead'");
    db.exec("ALTER TABLE jobs ADD COLUMN payload TEXT");
  }
}

function prepare(db: DatabaseSync) {
  const p = (sql: string): StatementSync => db.prepare(sql);
  return {
    insert: p(
      `INSERT INTO jobs (lead_id, state, attempts_made, max_attempts, run_at_ms, created_at_ms, updated_at_ms, priority)
       VALUES (?1, 'waiting', 0, ?2, ?3, ?3, ?3, ?4) ON CONFLICT (lead_id) DO NOTHING`,
    ),
    // A resume job (an owner's action, an SLA timer at its deadline): one row per job id while it waits or
    // runs; one that failed for good makes room for the next of its id (as BullMQ's enqueueResume does).
    insertResume: p(
      `INSERT INTO jobs (lead_id, state, attempts_made, max_attempts, run_at_ms, created_at_ms, updated_at_ms, priority, kind, payload)
       VALUES (?1, 'waiting', 0, ?2, ?3, ?4, ?4, 0, 'resume', ?5)
       ON CONFLICT (lead_id) DO UPDATE SET state = 'waiting', attempts_made = 0, max_attempts = ?2,
         run_at_ms = ?3, updated_at_ms = ?4, payload = ?5, owner = NULL, lease_until_ms = NULL, last_error = NULL
       WHERE jobs.state = 'failed' AND jobs.kind = 'resume'`,
    ),
    // A running job is left alone: its worker records the outcome.
    requeue: p(
      `INSERT INTO jobs (lead_id, state, attempts_made, max_attempts, run_at_ms, created_at_ms, updated_at_ms, probe)
       VALUES (?1, 'waiting', 0, ?2, ?3, ?3, ?3, ?4)
       ON CONFLICT (lead_id) DO UPDATE SET
         attempts_made = CASE WHEN jobs.state = 'failed' THEN 0 ELSE jobs.attempts_made END,
         state = 'waiting', run_at_ms = ?3, last_error = NULL, updated_at_ms = ?3, probe = ?4
       WHERE jobs.state != 'active'`,
    ),
    claim: p(
      `UPDATE jobs SET state = 'active', owner = ?1, lease_until_ms = ?2, updated_at_ms = ?3
       WHERE lead_id = (SELECT lead_id FROM jobs WHERE state = 'waiting' AND priority = ?4 AND run_at_ms <= ?3
                          AND NOT EXISTS (SELECT 1 FROM queue_state WHERE key = 'paused')
                        ORDER BY run_at_ms, created_at_ms LIMIT 1)
         AND state = 'waiting'
       RETURNING lead_id, attempts_made, max_attempts, probe, kind, payload`,
    ),
    complete: p("DELETE FROM jobs WHERE lead_id = ? AND owner = ?"),
    // The lead's own row and its resume rows (an owner's action, an SLA timer), whose payload names it.
    remove: p(
      `DELETE FROM jobs WHERE state != 'active'
         AND (lead_id = ?1 OR (kind = 'resume' AND json_extract(payload, '$.leadId') = ?1))`,
    ),
    retryLater: p(
      `UPDATE jobs SET state = 'waiting', attempts_made = ?1, run_at_ms = ?2, owner = NULL, lease_until_ms = NULL,
         last_error = ?3, updated_at_ms = ?4, probe = 0
       WHERE lead_id = ?5 AND owner = ?6`,
    ),
    fail: p(
      `UPDATE jobs SET state = 'failed', attempts_made = ?1, owner = NULL, lease_until_ms = NULL, last_error = ?2,
         updated_at_ms = ?3, probe = 0
       WHERE lead_id = ?4 AND owner = ?5`,
    ),
    renew: p("UPDATE jobs SET lease_until_ms = ? WHERE owner = ? AND state = 'active'"),
    active: p("SELECT lead_id, owner, lease_until_ms FROM jobs WHERE state = 'active'"),
    // A run cut short by a dead worker counts as an attempt: a lead that kills its process each time it
    // runs ends failed instead of looping forever.
    release: p(
      `UPDATE jobs SET attempts_made = attempts_made + 1, owner = NULL, lease_until_ms = NULL, updated_at_ms = ?1,
         state = CASE WHEN attempts_made + 1 >= max_attempts THEN 'failed' ELSE 'waiting' END,
         last_error = CASE WHEN attempts_made + 1 >= max_attempts
           THEN 'the worker running it stopped (' || (attempts_made + 1) || ' of ' || max_attempts || ' runs)'
           ELSE last_error END
       WHERE lead_id = ?2 AND state = 'active' AND owner = ?3
       RETURNING state, attempts_made`,
    ),
    inspect: p(
      "SELECT state, run_at_ms, attempts_made, max_attempts, last_error FROM jobs WHERE lead_id = ?",
    ),
    // A timer not yet due is not work waiting.
    depth: p(
      "SELECT COUNT(*) AS n FROM jobs WHERE state IN ('waiting', 'active') AND NOT (kind = 'resume' AND run_at_ms > ?)",
    ),
    // Every claim reads this row, so a pause written by any process holds every worker on the file.
    pause: p("INSERT INTO queue_state (key, value) VALUES ('paused', ?) ON CONFLICT (key) DO NOTHING"),
    resume: p("DELETE FROM queue_state WHERE key = 'paused'"),
    paused: p("SELECT value FROM queue_state WHERE key = 'paused'"),
  };
}

interface ClaimedJob {
  /** The row's key: the lead id, or a resume job's id. */
  jobId: string;
  leadId: string;
  attemptsMade: number;
  maxAttempts: number;
  probe: boolean;
  resume?: { jobId: string; value: unknown };
}

/** A claimed row as the job it is: a resume row carries its lead and value in `payload`. */
function claimedJob(row: Record<string, unknown>): ClaimedJob {
  const jobId = String(row.lead_id);
  const base = {
    jobId,
    attemptsMade: Number(row.attempts_made),
    maxAttempts: Number(row.max_attempts),
    probe: Number(row.probe) === 1,
  };
  if (row.kind !== "resume") return { ...base, leadId: jobId };
  const payload = JSON.parse(String(row.payload)) as { leadId: string; value: unknown };
  return { ...base, leadId: payload.leadId, resume: { jobId, value: payload.value } };
}

/** True when `owner` names a process on this host that no longer exists. */
function ownerIsDead(owner: string): boolean {
  const [host, pidText] = owner.split("|");
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

export class EmbeddedQueue implements JobQueue {
  readonly name = "embedded (sqlite jobs table)";
  readonly #sql: ReturnType<typeof prepare>;
  readonly #logger: Logger;
  readonly #attempts: number;
  readonly #backoffMs: number;
  readonly #pollMs: number;
  readonly #leaseMs: number;
  readonly #now: () => number;
  /** host|pid|random: the pid lets a restarted process take back jobs a killed one held. */
  readonly #owner = `${hostname()}|${process.pid}|${randomUUID().slice(0, 8)}`;
  readonly #running = new Set<Promise<void>>();
  readonly #runningBulk = new Set<Promise<void>>();
  #handler: JobHandler | undefined;
  #concurrency = 1;
  #bulkConcurrency = 1;
  #closed = false;
  #poll: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #wakeScheduled = false;
  readonly #batch: SqliteBatch | undefined;

  constructor(options: EmbeddedQueueOptions) {
    this.#batch = options.batch;
    migrate(options.db);
    this.#sql = prepare(options.db);
    this.#logger = options.logger;
    this.#attempts = options.attempts ?? DEFAULT_ATTEMPTS;
    this.#backoffMs = options.backoffMs ?? DEFAULT_BACKOFF_MS;
    this.#pollMs = options.pollMs ?? 250;
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.#now = options.clock ?? Date.now;
  }

  async enqueue(leadId: string, options: EnqueueOptions = {}): Promise<void> {
    // One row per lead (the primary key): a reasserted job is never a second one.
    const now = this.#now();
    await this.#write(() =>
      this.#sql.insert.run(leadId, this.#attempts, now, PRIORITY[options.lane ?? "live"]),
    );
    // Claimed at once, before the caller (the webhook's 202) goes on, as when the insert committed on the spot.
    this.#tick();
  }

  async enqueueResume(job: ResumeJob): Promise<boolean> {
    const now = this.#now();
    const payload = JSON.stringify({ leadId: job.leadId, value: job.value });
    const { changes } = await this.#write(() =>
      this.#sql.insertResume.run(job.jobId, this.#attempts, job.runAt ?? now, now, payload),
    );
    if ((job.runAt ?? now) <= now) this.#tick();
    return Number(changes) > 0;
  }

  async requeue(leadId: string, options: RequeueOptions = {}): Promise<void> {
    const now = this.#now();
    await this.#write(() => this.#sql.requeue.run(leadId, this.#attempts, now, options.probe ? 1 : 0));
    this.#wake();
  }

  async remove(leadId: string): Promise<void> {
    await this.#write(() => this.#sql.remove.run(leadId));
  }

  start(handler: JobHandler, options: StartOptions): void {
    if (this.#handler) throw new Error("queue already started");
    if (this.#closed) throw new Error("queue is closed");
    this.#handler = handler;
    this.#concurrency = Math.max(1, Math.trunc(options.concurrency));
    this.#bulkConcurrency = Math.max(1, Math.trunc(options.bulkConcurrency ?? 1));
    this.#reclaim();
    this.#poll = setInterval(() => this.#tick(), this.#pollMs);
    this.#heartbeat = setInterval(() => this.#renew(), Math.max(1, Math.floor(this.#leaseMs / 3)));
    this.#tick();
  }

  async depth(): Promise<number> {
    return Number(this.#sql.depth.get(this.#now())?.n ?? 0);
  }

  async pause(): Promise<void> {
    this.#sql.pause.run(new Date(this.#now()).toISOString());
  }

  async resume(): Promise<void> {
    this.#sql.resume.run();
    this.#wake();
  }

  async pauseState(): Promise<PauseState> {
    const row = this.#sql.paused.get();
    return row ? { paused: true, since: String(row.value) } : { paused: false };
  }

  async close(options: CloseOptions = {}): Promise<void> {
    this.#closed = true;
    clearInterval(this.#poll);
    const drained = await settleWithin(
      Promise.allSettled([...this.#running, ...this.#runningBulk]),
      options.timeoutMs,
    );
    clearInterval(this.#heartbeat);
    if (!drained)
      this.#logger.warn(
        { running: this.#running.size + this.#runningBulk.size },
        "queue closed with jobs still running",
      );
  }

  async inspect(leadId: string): Promise<JobInfo | null> {
    const row = this.#sql.inspect.get(leadId);
    if (!row) return null;
    const waiting = row.state === "waiting";
    const info: JobInfo = {
      state: waiting
        ? Number(row.run_at_ms) > this.#now()
          ? "delayed"
          : "waiting"
        : (row.state as JobState),
      attemptsMade: Number(row.attempts_made),
      maxAttempts: Number(row.max_attempts),
    };
    if (row.last_error != null) info.failedReason = String(row.last_error);
    return info;
  }

  /**
   * Jobs held by a dead process (same host) or whose lease ran out go back to waiting, one attempt spent
   * (failed once none is left).
   */
  #reclaim(): void {
    const now = this.#now();
    for (const row of this.#sql.active.all()) {
      const owner = String(row.owner ?? "");
      const expired = row.lease_until_ms === null || Number(row.lease_until_ms) < now;
      if (expired || ownerIsDead(owner)) {
        const leadId = String(row.lead_id);
        const taken = this.#sql.release.get(now, leadId, owner);
        if (taken?.state === "failed")
          this.#logger.error(
            { leadId, attempts: Number(taken.attempts_made) },
            "job failed for good: its workers kept stopping",
          );
        else if (taken) this.#logger.warn({ leadId }, "job taken back from a stopped worker");
      }
    }
  }

  #renew(): void {
    try {
      this.#sql.renew.run(this.#now() + this.#leaseMs, this.#owner);
      this.#reclaim();
    } catch (err) {
      this.#logger.warn({ err: String(err) }, "job lease renewal failed");
    }
  }

  #wake(): void {
    if (!this.#handler || this.#wakeScheduled) return;
    this.#wakeScheduled = true;
    setImmediate(() => {
      this.#wakeScheduled = false;
      this.#tick();
    });
  }

  #tick(): void {
    const handler = this.#handler;
    if (!handler) return;
    // Live jobs first; bulk jobs only in their own slots.
    this.#fill(handler, "live", this.#running, this.#concurrency);
    this.#fill(handler, "bulk", this.#runningBulk, this.#bulkConcurrency);
  }

  #fill(handler: JobHandler, lane: Lane, running: Set<Promise<void>>, slots: number): void {
    while (!this.#closed && running.size < slots) {
      let job: ClaimedJob | undefined;
      try {
        const now = this.#now();
        const row = this.#sql.claim.get(this.#owner, now + this.#leaseMs, now, PRIORITY[lane]);
        if (row) job = claimedJob(row);
      } catch (err) {
        // SQLITE_BUSY under another process's write lock: the next poll tries again.
        this.#logger.warn({ err: String(err) }, "could not claim a job");
        return;
      }
      if (!job) return;
      const run: Promise<void> = this.#execute(handler, job).finally(() => {
        running.delete(run);
        this.#wake();
      });
      running.add(run);
    }
  }

  /** A write: in the shared group commit when there is one, else committed now. */
  #write<T>(write: () => T): Promise<T> {
    return writeIn(this.#batch, write);
  }

  async #execute(handler: JobHandler, job: ClaimedJob): Promise<void> {
    const { leadId, jobId } = job;
    let failure: unknown;
    let ok = false;
    const attempt = job.attemptsMade + 1;
    try {
      await handler(leadId, {
        attempt,
        maxAttempts: job.maxAttempts,
        ...(attempt < job.maxAttempts ? { retryDelayMs: backoffDelay(attempt, this.#backoffMs) } : {}),
        probe: job.probe,
        ...(job.resume ? { resume: job.resume } : {}),
      });
      ok = true;
    } catch (err) {
      failure = err;
    }
    const now = this.#now();
    try {
      if (ok) {
        await this.#write(() => this.#sql.complete.run(jobId, this.#owner));
        return;
      }
      const attemptsMade = job.attemptsMade + 1;
      const message = failure instanceof Error ? failure.message : String(failure);
      if (attemptsMade < job.maxAttempts) {
        const delay = backoffDelay(attemptsMade, this.#backoffMs);
        await this.#write(() =>
          this.#sql.retryLater.run(attemptsMade, now + delay, message, now, jobId, this.#owner),
        );
        this.#logger.warn({ leadId, attempt: attemptsMade, retryInMs: delay }, "job failed; will retry");
      } else {
        await this.#write(() => this.#sql.fail.run(attemptsMade, message, now, jobId, this.#owner));
        this.#logger.error({ leadId, jobId, attempts: attemptsMade }, "job failed for good");
      }
    } catch (storeErr) {
      // The lease runs out and the job is taken back, so the lead is retried rather than lost.
      this.#logger.error({ leadId, err: String(storeErr) }, "could not record the job's outcome");
    }
  }
}
