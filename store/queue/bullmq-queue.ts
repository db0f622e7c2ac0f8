/**
 * The Redis profile's queue: BullMQ on the same Redis as the lead store. The job id is the lead id, so a
 * second enqueue of a lead is a no-op inside BullMQ's own add script. Workers may run in other processes
 * (`leadgraph worker`); a worker that dies mid-job loses its lock and BullMQ's stalled-job check hands the
 * job to another worker, whose run resumes from the lead's checkpoint.
 *
 * Over 300 lines because lanes, resume jobs, pause and the stalled-job handling all wrap one BullMQ queue and worker.
 */
import { Job, Queue, Worker } from "bullmq";
import type { RedisOptions } from "ioredis";
import type { Logger } from "../../tools/ports.ts";
import { connectRedis, type RedisClient } from "../redis-client.ts";
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
  type PauseState,
  type RequeueOptions,
  type ResumeJob,
  type StartOptions,
  settleWithin,
} from "./job-queue.ts";

export interface BullmqQueueOptions extends JobQueueOptions {
  /** Redis URL; the queue opens its own connections (BullMQ's blocking worker connection needs its own). */
  url: string;
  /** The URL names a node of a Redis Cluster; give `prefix` a hash tag (`{lg:bull}`) then. */
  cluster?: boolean;
  logger: Logger;
  /** Queue name. Default "leads". */
  name?: string;
  /** BullMQ key prefix. Default "lg:bull". */
  prefix?: string;
  /** A job whose worker stops renewing its lock for this long is stalled and runs again. Default 30 s. */
  lockDurationMs?: number;
  /** How often workers look for stalled jobs. Default 30 s. */
  stalledIntervalMs?: number;
  /** Stalls (a worker stopped renewing the job's lock) a job survives before BullMQ fails it. Default 2. */
  maxStalledCount?: number;
  /** Failed jobs older than this are dropped by BullMQ (RETENTION_COMPLETED_DAYS); unset keeps them. */
  failedJobAgeSeconds?: number;
  /** Producer connection options (intake must fail fast when Redis is away: that is a 503, not a hang). */
  redisOptions?: RedisOptions;
}

interface LeadJobData {
  leadId: string;
  /** The next run was asked for by an admin retry (JobRun.probe); cleared once that run ends. */
  probe?: true;
  /** A resume job's value (an owner's action, an SLA timer): the job's name is then "resume". */
  resume?: unknown;
}

export class BullmqQueue implements JobQueue {
  readonly name = "bullmq";
  readonly #options: BullmqQueueOptions;
  readonly #logger: Logger;
  readonly #producer: RedisClient;
  readonly #queue: Queue<LeadJobData>;
  /** List imports: a queue of their own, so their jobs never get ahead of live ones and have their own workers. */
  readonly #bulkQueue: Queue<LeadJobData>;
  #worker: Worker<LeadJobData> | undefined;
  #bulkWorker: Worker<LeadJobData> | undefined;
  #workerConnections: RedisClient[] = [];

  constructor(options: BullmqQueueOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#producer = connectRedis(
      { url: options.url, cluster: options.cluster ?? false },
      {
        maxRetriesPerRequest: 1,
        connectTimeout: 2000,
        ...options.redisOptions,
      },
    );
    this.#producer.on("error", (err) =>
      this.#logger.warn({ err: err.message }, "queue redis connection error"),
    );
    this.#queue = this.#makeQueue(options.name ?? "leads");
    this.#bulkQueue = this.#makeQueue(`${options.name ?? "leads"}-bulk`);
  }

  #makeQueue(name: string): Queue<LeadJobData> {
    const options = this.#options;
    const queue = new Queue<LeadJobData>(name, {
      connection: this.#producer,
      prefix: options.prefix ?? "lg:bull",
      defaultJobOptions: {
        attempts: options.attempts ?? DEFAULT_ATTEMPTS,
        backoff: { type: "exponential", delay: options.backoffMs ?? DEFAULT_BACKOFF_MS },
        // A completed lead's record lives in the lead store; the job would only take Redis memory.
        removeOnComplete: true,
        // Failed jobs stay for inspection and for `requeue` until the retention window ends (the lead
        // itself stays failed until handled; an admin retry then adds a new job).
        removeOnFail: options.failedJobAgeSeconds ? { age: options.failedJobAgeSeconds } : false,
      },
      // BullMQ logs every job's moves to an events stream, read only by QueueEvents listeners, which
      // LeadGraph has none of. Trimming is approximate (whole stream nodes), so it holds ~100-200 entries
      // instead of the default 10 000 (about a megabyte).
      streams: { events: { maxLen: 100 } },
    });
    queue.on("error", (err) => this.#logger.warn({ err: err.message }, "queue error"));
    return queue;
  }

  async enqueue(leadId: string, options: EnqueueOptions = {}): Promise<void> {
    const bulk = options.lane === "bulk";
    // Job ids are unique per queue only: a lead that may have a job already is looked for in the other lane.
    if (options.reassert && (await Job.fromId(bulk ? this.#queue : this.#bulkQueue, leadId))) return;
    await (bulk ? this.#bulkQueue : this.#queue).add("lead", { leadId }, { jobId: leadId });
  }

  async enqueueResume(job: ResumeJob): Promise<boolean> {
    // The job id is deterministic: BullMQ's add script returns the job already there instead of a second one.
    const existing = await Job.fromId(this.#queue, job.jobId);
    if (existing) {
      const state = await existing.getState();
      if (state !== "completed" && state !== "failed") return false;
      // A finished job of that id (kept when it failed) would swallow the add: make room for this one.
      await existing.remove().catch(() => undefined);
    }
    const delay = Math.max(0, (job.runAt ?? Date.now()) - Date.now());
    await this.#queue.add(
      "resume",
      { leadId: job.leadId, resume: job.value },
      { jobId: job.jobId, ...(delay > 0 ? { delay } : {}) },
    );
    return true;
  }

  /** The lead's job in either lane. */
  async #find(leadId: string): Promise<Job<LeadJobData> | undefined> {
    return (
      (await Job.fromId<LeadJobData>(this.#queue, leadId)) ??
      (await Job.fromId<LeadJobData>(this.#bulkQueue, leadId))
    );
  }

  async inspect(leadId: string): Promise<JobInfo | null> {
    const job = await this.#find(leadId);
    if (!job) return null;
    const state = await job.getState();
    const known: Record<string, JobState> = {
      waiting: "waiting",
      prioritized: "waiting",
      "waiting-children": "waiting",
      delayed: "delayed",
      active: "active",
      failed: "failed",
      completed: "completed",
    };
    const mapped = known[state];
    if (!mapped) return null;
    return {
      state: mapped,
      attemptsMade: job.attemptsMade,
      maxAttempts: job.opts.attempts ?? 1,
      ...(job.failedReason ? { failedReason: job.failedReason } : {}),
    };
  }

  async remove(leadId: string): Promise<void> {
    for (const queue of [this.#queue, this.#bulkQueue]) {
      const job = await Job.fromId<LeadJobData>(queue, leadId);
      if (job && (await job.getState()) !== "active") await job.remove();
    }
  }

  async requeue(leadId: string, options: RequeueOptions = {}): Promise<void> {
    const data: LeadJobData = options.probe ? { leadId, probe: true } : { leadId };
    const job = await this.#find(leadId);
    if (!job) {
      await this.#queue.add("lead", data, { jobId: leadId });
      return;
    }
    const state = await job.getState();
    if (state !== "active" && options.probe) await job.updateData(data);
    if (state === "failed" || state === "completed") {
      await job.retry(state, { resetAttemptsMade: true, resetAttemptsStarted: true });
    } else if (state === "delayed") {
      await job.promote();
    } else if (state === "unknown") {
      await this.#queue.add("lead", data, { jobId: leadId });
    }
  }

  start(handler: JobHandler, options: StartOptions): void {
    if (this.#worker) throw new Error("queue already started");
    this.#worker = this.#startWorker(this.#queue, handler, options.concurrency);
    this.#bulkWorker = this.#startWorker(this.#bulkQueue, handler, options.bulkConcurrency ?? 1);
  }

  #startWorker(queue: Queue<LeadJobData>, handler: JobHandler, concurrency: number): Worker<LeadJobData> {
    // BullMQ's blocking commands need a connection that retries forever rather than failing requests.
    const connection = connectRedis(
      { url: this.#options.url, cluster: this.#options.cluster ?? false },
      { maxRetriesPerRequest: null },
    );
    connection.on("error", (err) => this.#logger.warn({ err: err.message }, "worker redis connection error"));
    this.#workerConnections.push(connection);
    const worker = new Worker<LeadJobData>(
      queue.name,
      async (job) => {
        const attempt = job.attemptsMade + 1;
        const maxAttempts = job.opts.attempts ?? 1;
        // BullMQ's exponential backoff waits delay * 2^(attempt - 1) after a failed attempt, as backoffDelay does.
        const backoffMs = this.#options.backoffMs ?? DEFAULT_BACKOFF_MS;
        const probe = job.data.probe === true;
        try {
          await handler(job.data.leadId, {
            attempt,
            maxAttempts,
            ...(attempt < maxAttempts ? { retryDelayMs: backoffDelay(attempt, backoffMs) } : {}),
            probe,
            ...(job.name === "resume" ? { resume: { jobId: job.id ?? "", value: job.data.resume } } : {}),
          });
        } finally {
          // Only the run the admin asked for probes; the queue's own retries of it do not.
          if (probe) await job.updateData({ leadId: job.data.leadId }).catch(() => undefined);
        }
      },
      {
        connection,
        prefix: this.#options.prefix ?? "lg:bull",
        concurrency: Math.max(1, Math.trunc(concurrency)),
        lockDuration: this.#options.lockDurationMs ?? 30_000,
        stalledInterval: this.#options.stalledIntervalMs ?? 30_000,
        maxStalledCount: this.#options.maxStalledCount ?? 2,
      },
    );
    worker.on("error", (err) => this.#logger.warn({ err: err.message }, "worker error"));
    worker.on("failed", (job, err) => {
      if (!job) return;
      const attempts = job.opts.attempts ?? 1;
      const final = job.attemptsMade >= attempts;
      this.#logger.warn(
        { leadId: job.data.leadId, attempt: job.attemptsMade, final, err: err.message },
        final ? "job failed for good" : "job failed; will retry",
      );
    });
    return worker;
  }

  async depth(): Promise<number> {
    const types = ["waiting", "active", "delayed", "prioritized"] as const;
    const [live, bulk] = await Promise.all([
      this.#queue.getJobCountByTypes(...types),
      this.#bulkQueue.getJobCountByTypes(...types),
    ]);
    return live + bulk;
  }

  /** BullMQ's own global pause of both lanes: every worker on this Redis stops taking jobs; kept in Redis. */
  async pause(): Promise<void> {
    await this.#producer.set(this.#pausedAtKey(), new Date().toISOString(), "NX");
    await this.#queue.pause();
    await this.#bulkQueue.pause();
  }

  async resume(): Promise<void> {
    await this.#queue.resume();
    await this.#bulkQueue.resume();
    await this.#producer.del(this.#pausedAtKey());
  }

  async pauseState(): Promise<PauseState> {
    if (!(await this.#queue.isPaused())) return { paused: false };
    const since = await this.#producer.get(this.#pausedAtKey());
    return since ? { paused: true, since } : { paused: true };
  }

  #pausedAtKey(): string {
    return `${this.#options.prefix ?? "lg:bull"}:${this.#queue.name}:lg-paused-at`;
  }

  async close(options: CloseOptions = {}): Promise<void> {
    const workers = [this.#worker, this.#bulkWorker].filter((w) => w !== undefined);
    if (workers.length > 0) {
      const drained = await settleWithin(Promise.all(workers.map((w) => w.close())), options.timeoutMs);
      if (!drained) {
        this.#logger.warn({}, "queue closed with jobs still running");
        await Promise.all(workers.map((w) => w.close(true).catch(() => undefined)));
      }
    }
    await this.#queue.close().catch(() => undefined);
    await this.#bulkQueue.close().catch(() => undefined);
    for (const connection of this.#workerConnections) connection.disconnect();
    this.#producer.disconnect();
  }

  /** For tests and benchmarks: the BullMQ queue of list imports. */
  get bullBulkQueue(): Queue<LeadJobData> {
    return this.#bulkQueue;
  }

  /** For tests and benchmarks: the underlying BullMQ queue. */
  get bullQueue(): Queue<LeadJobData> {
    return this.#queue;
  }

  /** For tests and benchmarks: this process's BullMQ worker, once `start` made it. */
  get bullWorker(): Worker<LeadJobData> | undefined {
    return this.#worker;
  }
}
