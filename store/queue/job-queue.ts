/**
 * The `JobQueue` port (docs/architecture.md, "Ports and adapters"): one job per lead, keyed by the lead id, so enqueueing the
 * same lead twice never makes two jobs. BullMQ in the Redis profile, SQLite-backed in the embedded one.
 */

/** What the queue tells the handler about the run it starts. */
export interface JobRun {
  /** 1 for the first run of the job; a run cut short by a worker that died counts too. */
  attempt: number;
  maxAttempts: number;
  /** How long the queue waits before the next run if this one fails; absent when this run is the last. */
  retryDelayMs?: number;
  /**
   * The run an admin retry asked for: vendor calls try a vendor whose circuit is open instead of failing fast
   * (`withVendorProbe`). The queue's own later retries of the job do not.
   */
  probe: boolean;
  /** Set when the job resumes a lead waiting in the graph (an owner's action, an SLA timer): its id and value. */
  resume?: { jobId: string; value: unknown };
}

/**
 * A resume of a lead that waits in the graph's `interrupt()` (docs/architecture.md, "The owner loop"): a
 * person's action, or an SLA timer due at `runAt`. Its id is deterministic (`act:<leadId>:<round>`,
 * `sla:<leadId>:<round>`), so a job already there with that id is not added again; whichever job of a round
 * runs first decides it, and the runner makes the others no-ops.
 */
export interface ResumeJob {
  leadId: string;
  jobId: string;
  /** JSON; handed to the handler as `JobRun.resume.value`. */
  value: unknown;
  /** Epoch ms it is due (an SLA deadline); default now. */
  runAt?: number;
}

export interface RequeueOptions {
  /** An admin retry: the next run probes vendors whose circuit is open (`JobRun.probe`). */
  probe?: boolean;
}

/** Runs one lead; throwing fails the attempt (retried with backoff until attempts run out). */
export type JobHandler = (leadId: string, run: JobRun) => Promise<unknown>;

/** Where a lead's job is: waiting (to run now), delayed (a retry's backoff), active, or ended. */
export type JobState = "waiting" | "delayed" | "active" | "failed" | "completed";

export interface JobInfo {
  state: JobState;
  /** Runs that ended in failure, or were cut short by a dead worker. */
  attemptsMade: number;
  maxAttempts: number;
  /** The last failure (a `failed` job's reason). */
  failedReason?: string;
}

/** A job that some worker will still run (or is running). */
export function isLive(state: JobState): boolean {
  return state === "waiting" || state === "delayed" || state === "active";
}

export interface JobQueueOptions {
  /** Tries per job, first run included. Default 5. */
  attempts?: number;
  /** First retry delay; doubles on every further attempt. Default 35 s. */
  backoffMs?: number;
}

export interface StartOptions {
  /** Live jobs run at the same time by this process. */
  concurrency: number;
  /** Bulk jobs (list imports) run at the same time by this process, beside the live ones. Default 1. */
  bulkConcurrency?: number;
}

/**
 * Which lane a job waits in. Live leads (webhooks, forms) always run before bulk ones (list imports), and
 * bulk jobs have a few slots of their own, so a 50,000-row import neither delays live leads nor takes the
 * whole process.
 */
export type Lane = "live" | "bulk";

export interface EnqueueOptions {
  /** Default "live". */
  lane?: Lane;
  /**
   * The lead may already have a job, in either lane (a duplicate delivery, the start-up sweep): add one only
   * if it has none anywhere.
   */
  reassert?: boolean;
}

export interface JobQueue {
  /** "bullmq" or "embedded", for the startup log line. */
  readonly name: string;
  /** Adds the lead's job unless one is already waiting, delayed or running: idempotent per lead. */
  enqueue(leadId: string, options?: EnqueueOptions): Promise<void>;
  /**
   * Adds a resume job (live lane) unless one with its id is waiting, delayed or running; true when added.
   * Durable: a timer due in an hour survives restarts (a delayed BullMQ job, a row with its run time).
   */
  enqueueResume(job: ResumeJob): Promise<boolean>;
  /**
   * Admin retry: a job that failed for good (or finished) goes back to waiting with fresh attempts; a job
   * still waiting for its backoff runs now; a running one is left alone.
   */
  requeue(leadId: string, options?: RequeueOptions): Promise<void>;
  /** Drops the lead's job in either lane unless it is running (retention, an admin deleting the lead). */
  remove(leadId: string): Promise<void>;
  /** The lead's job, in either lane; null when it has none (never had one, or it finished and was removed). */
  inspect(leadId: string): Promise<JobInfo | null>;
  /** Starts taking jobs in this process. */
  start(handler: JobHandler, options: StartOptions): void;
  /** Jobs waiting, delayed or running. */
  depth(): Promise<number>;
  /**
   * Holds processing in every process that shares the queue: running jobs finish, no job starts, new jobs
   * still queue up. Stored with the jobs, so it survives restarts. Idempotent, as is `resume`.
   */
  pause(): Promise<void>;
  resume(): Promise<void>;
  pauseState(): Promise<PauseState>;
  /**
   * Stops taking jobs and waits up to `timeoutMs` (default: no bound) for the running ones to finish. A job
   * cut short stays claimed until its lease runs out or its process is seen dead, then runs again.
   */
  close(options?: CloseOptions): Promise<void>;
}

export interface PauseState {
  paused: boolean;
  /** ISO timestamp of the pause, when paused. */
  since?: string;
}

export interface CloseOptions {
  timeoutMs?: number;
}

/**
 * Five runs 35 s, 70 s, 140 s and 280 s apart (about 9 minutes): the first retry already comes after a
 * vendor's open circuit lets calls through again (tools/resilience.ts, 30 s), so automatic retries meet a
 * vendor that had time to recover instead of burning their attempts on "circuit open" in seconds.
 */
export const DEFAULT_ATTEMPTS = 5;
export const DEFAULT_BACKOFF_MS = 35_000;

/** Delay before attempt `attempt + 1`, after `attempt` failures: backoff, 2 x backoff, 4 x backoff, ... */
export function backoffDelay(attempt: number, backoffMs: number): number {
  return backoffMs * 2 ** Math.max(0, attempt - 1);
}

/** Resolves when `work` settles or `timeoutMs` passes; true when it settled. */
export async function settleWithin(work: Promise<unknown>, timeoutMs: number | undefined): Promise<boolean> {
  if (timeoutMs === undefined) {
    await work.catch(() => undefined);
    return true;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
