/**
 * The Redis profile's queue: BullMQ on the same Redis as the lead store. The job id is the lead id, so a
 * second enqueue of a lead is a no-op inside BullMQ's own add script. Workers may run in other processes
 * (`leadgraph worker`); a worker that dies mid-job loses its lock and BullMQ's stalled-job check hands the
 * job to another worker, whose run resumes from the lead's checkpoint.
 */
import { Job, Queue, Worker } from "bullmq";
import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "../../tools/ports.ts";
import {
  type CloseOptions,
  DEFAULT_ATTEMPTS,
  DEFAULT_BACKOFF_MS,
  type JobHandler,
  type JobQueue,
  type JobQueueOptions,
  type StartOptions,
  settleWithin,
} from "./job-queue.ts";

export interface BullmqQueueOptions extends JobQueueOptions {
  /** Redis URL; the queue opens its own connections (BullMQ's blocking worker connection needs its own). */
  url: string;
  logger: Logger;
  /** Queue name. Default "leads". */
  name?: string;
  /** BullMQ key prefix. Default "lg:bull". */
  prefix?: string;
  /** A job whose worker stops renewing its lock for this long is stalled and runs again. Default 30 s. */
  lockDurationMs?: number;
  /** How often workers look for stalled jobs. Default 30 s. */
  stalledIntervalMs?: number;
  /** Producer connection options (intake must fail fast when Redis is away: that is a 503, not a hang). */
  redisOptions?: RedisOptions;
}

interface LeadJobData {
  leadId: string;
}

export class BullmqQueue implements JobQueue {
  readonly name = "bullmq";
  readonly #options: BullmqQueueOptions;
  readonly #logger: Logger;
  readonly #producer: Redis;
  readonly #queue: Queue<LeadJobData>;
  #worker: Worker<LeadJobData> | undefined;
  #workerConnection: Redis | undefined;

  constructor(options: BullmqQueueOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#producer = new Redis(options.url, {
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      ...options.redisOptions,
    });
    this.#producer.on("error", (err) =>
      this.#logger.warn({ err: err.message }, "queue redis connection error"),
    );
    this.#queue = new Queue<LeadJobData>(options.name ?? "leads", {
      connection: this.#producer,
      prefix: options.prefix ?? "lg:bull",
      defaultJobOptions: {
        attempts: options.attempts ?? DEFAULT_ATTEMPTS,
        backoff: { type: "exponential", delay: options.backoffMs ?? DEFAULT_BACKOFF_MS },
        // A completed lead's record lives in the lead store; the job would only take Redis memory.
        removeOnComplete: true,
        // Failed jobs stay for inspection and for `requeue`.
        removeOnFail: false,
      },
      // BullMQ logs every job's moves to an events stream, read only by QueueEvents listeners, which
      // LeadGraph has none of. Trimming is approximate (whole stream nodes), so it holds ~100-200 entries
      // instead of the default 10 000 (about a megabyte).
      streams: { events: { maxLen: 100 } },
    });
    this.#queue.on("error", (err) => this.#logger.warn({ err: err.message }, "queue error"));
  }

  async enqueue(leadId: string): Promise<void> {
    await this.#queue.add("lead", { leadId }, { jobId: leadId });
  }

  async requeue(leadId: string): Promise<void> {
    const job = await Job.fromId<LeadJobData>(this.#queue, leadId);
    if (!job) {
      await this.enqueue(leadId);
      return;
    }
    const state = await job.getState();
    if (state === "failed" || state === "completed") {
      await job.retry(state, { resetAttemptsMade: true, resetAttemptsStarted: true });
    } else if (state === "delayed") {
      await job.promote();
    } else if (state === "unknown") {
      await this.enqueue(leadId);
    }
  }

  start(handler: JobHandler, options: StartOptions): void {
    if (this.#worker) throw new Error("queue already started");
    // BullMQ's blocking commands need a connection that retries forever rather than failing requests.
    this.#workerConnection = new Redis(this.#options.url, { maxRetriesPerRequest: null });
    this.#workerConnection.on("error", (err) =>
      this.#logger.warn({ err: err.message }, "worker redis connection error"),
    );
    this.#worker = new Worker<LeadJobData>(
      this.#queue.name,
      async (job) => {
        await handler(job.data.leadId);
      },
      {
        connection: this.#workerConnection,
        prefix: this.#options.prefix ?? "lg:bull",
        concurrency: Math.max(1, Math.trunc(options.concurrency)),
        lockDuration: this.#options.lockDurationMs ?? 30_000,
        stalledInterval: this.#options.stalledIntervalMs ?? 30_000,
      },
    );
    this.#worker.on("error", (err) => this.#logger.warn({ err: err.message }, "worker error"));
    this.#worker.on("failed", (job, err) => {
      if (!job) return;
      const attempts = job.opts.attempts ?? 1;
      const final = job.attemptsMade >= attempts;
      this.#logger.warn(
        { leadId: job.data.leadId, attempt: job.attemptsMade, final, err: err.message },
        final ? "job failed for good" : "job failed; will retry",
      );
    });
  }

  async depth(): Promise<number> {
    return this.#queue.getJobCountByTypes("waiting", "active", "delayed", "prioritized");
  }

  async close(options: CloseOptions = {}): Promise<void> {
    const worker = this.#worker;
    if (worker) {
      const drained = await settleWithin(worker.close(), options.timeoutMs);
      if (!drained) {
        this.#logger.warn({}, "queue closed with jobs still running");
        await worker.close(true).catch(() => undefined);
      }
    }
    await this.#queue.close().catch(() => undefined);
    this.#workerConnection?.disconnect();
    this.#producer.disconnect();
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
