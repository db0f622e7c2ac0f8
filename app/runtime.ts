/**
 * Wiring of the service (docs/architecture.md, "Ports and adapters"): picks the runtime profile from the environment and
 * builds the lead store, checkpointer, queue, graph and runner on it.
 *
 * - `REDIS_URL` set: Redis lead store, RedisSaver and BullMQ, all on that Redis.
 * - unset: one SQLite file in DATA_DIR holding leads, checkpoints and jobs, and an in-process queue.
 *
 * Over 300 lines because it is the composition root of both profiles, the one place that knows every adapter.
 */
import type { DatabaseSync } from "node:sqlite";
import type { BaseCheckpointSaver } from "@langchain/langgraph";
import type { Env } from "../config/env.ts";
import { loadRevOpsConfig } from "../config/revops.ts";
import { type EventRules, parseEventRules } from "../domain/normalize/hubspot-event.ts";
import type { LlmUsage } from "../domain/types.ts";
import { buildLeadGraph, type LeadGraph } from "../graph/build.ts";
import { SqliteSaver } from "../graph/checkpoint/sqlite-saver.ts";
import type { LeadEvent } from "../graph/events.ts";
import {
  createLeadRunner,
  LeadRunError,
  type LeadRunner,
  type RunnerHooks,
  type RunnerMetrics,
} from "../graph/runner.ts";
import { isPermanentError } from "../nodes/capture.ts";
import type { GraphDeps } from "../nodes/deps.ts";
import { type ConfigHistory, RedisConfigHistory, SqliteConfigHistory } from "../store/config-history.ts";
import type { EventLog } from "../store/event-log.ts";
import type { LeadStore } from "../store/lead-store.ts";
import { EmbeddedQueue } from "../store/queue/embedded-queue.ts";
import type { CloseOptions, JobQueue, JobQueueOptions } from "../store/queue/job-queue.ts";
import type { RedisClient } from "../store/redis-client.ts";
import { SqliteBatch } from "../store/sqlite-batch.ts";
import { SqliteEventLog } from "../store/sqlite-event-log.ts";
import { SqliteLeadStore } from "../store/sqlite-lead-store.ts";
import { WalCheckpointer } from "../store/wal-checkpointer.ts";
import type { WriteBatch } from "../tools/embedded/sqlite-writes.ts";
import type { Logger } from "../tools/ports.ts";
import { withVendorProbe } from "../tools/resilience.ts";
import { type AdapterChoice, createGraphDeps, namedAfterOverrides } from "./adapters.ts";
import { DATABASE_FILE, openDatabase } from "./database.ts";
import { createEventForwarder } from "./event-forwarder.ts";
import { createLeadService, type LeadService } from "./lead-service.ts";
import { createLiveEvents, type LiveEvents } from "./live-events.ts";
import { createReconciler, type Reconciler } from "./reconciler.ts";
import { createRetention, type Retention } from "./retention.ts";
import { createRoutingAdmin } from "./routing-admin.ts";

export type Profile = "embedded" | "redis";

export { DATABASE_FILE };

/** What the runtime reports besides the runner's figures: LLM usage per call. */
export interface RuntimeMetrics extends RunnerMetrics {
  llmCall(usage: LlmUsage): void;
}

export interface QueueTuning extends JobQueueOptions {
  /** Embedded: how often due jobs are looked for. */
  pollMs?: number;
  /** Lease (embedded) or lock (BullMQ) after which a silent worker's job runs again. */
  leaseMs?: number;
  /** BullMQ: how often workers look for stalled jobs. */
  stalledIntervalMs?: number;
  /** BullMQ: stalls a job survives before it is failed. */
  maxStalledCount?: number;
}

export interface RuntimeOptions {
  logger: Logger;
  /** Runs queue workers in this process. */
  worker: boolean;
  metrics?: RuntimeMetrics;
  queue?: QueueTuning;
  /** Between the reconciler's passes over unfinished leads (worker processes). Default RECONCILE_INTERVAL_SECONDS. */
  reconcileIntervalMs?: number;
  /** Between retention sweeps (worker processes). Default RETENTION_SWEEP_INTERVAL_MINUTES. */
  retentionIntervalMs?: number;
  /** The retention sweep's clock (tests move it past the window). Default: the system clock. */
  clock?: () => Date;
  /** How long a ledger claim outlives a worker that died holding it. Default 30 s. */
  ledgerLeaseMs?: number;
  /** Checkpoints kept per finished lead. Default 1. */
  keepCheckpoints?: number;
  /** Observers of each run (tests use them to watch or stop a worker at a chosen node). */
  hooks?: RunnerHooks;
  /** Replaces ports after the registry picked them and before the graph is built (tests: a failing notifier). */
  overrideDeps?: (deps: GraphDeps) => GraphDeps;
  /** Wraps the checkpointer the graph writes through (tests: stop a worker right after a chosen checkpoint). */
  instrumentCheckpointer?: (saver: BaseCheckpointSaver) => BaseCheckpointSaver;
}

export interface LeadRuntime {
  profile: Profile;
  store: LeadStore;
  checkpointer: BaseCheckpointSaver;
  queue: JobQueue;
  runner: LeadRunner;
  graph: LeadGraph;
  deps: GraphDeps;
  adapters: AdapterChoice[];
  /** What the HTTP host and the CLI call. */
  service: LeadService;
  /** Every lead event the runners of this process emit; returns the unsubscribe function. */
  subscribe(listener: (event: LeadEvent) => void): () => void;
  /** Live events of every process (the event log behind GET /admin/events). */
  events: LiveEvents;
  /** True when this process runs queue workers. */
  worker: boolean;
  /** Requeues or fails stranded leads; runs by itself in worker processes. */
  reconciler: Reconciler;
  /** Deletes completed leads past the retention window; runs by itself in worker processes. */
  retention: Retention;
  /** Stops the workers (waiting up to `timeoutMs` for running leads), then closes every connection. */
  close(options?: CloseOptions): Promise<void>;
}

interface Backend {
  profile: Profile;
  /** The Redis profile's connection (the host keeps its rate-limit counts on it). */
  redis?: RedisClient;
  store: LeadStore;
  checkpointer: BaseCheckpointSaver;
  queue: JobQueue;
  /** Every routing.json and scoring.json version loaded. */
  history: ConfigHistory;
  /** Where the embedded stand-ins (local CRM, outbox) keep their tables, when any is in use. */
  standIns?: DatabaseSync;
  /** The group commit on `standIns`, when the service writes it (the embedded profile). */
  standInWrites?: WriteBatch;
  eventLog: EventLog;
  location: string;
  close(): Promise<void>;
}

function ledgerOptions(options: RuntimeOptions) {
  return options.ledgerLeaseMs === undefined ? {} : { ledger: { leaseMs: options.ledgerLeaseMs } };
}

function embeddedBackend(env: Env, options: RuntimeOptions): Backend {
  // One connection for leads, checkpoints, jobs and the stand-ins' tables: each write is a short synchronous
  // transaction, so nothing interleaves on it, and other processes on the file wait on SQLite's lock. The
  // writes of one turn of the event loop commit together (group commit), each resolving once committed.
  const { db, path } = openDatabase(env.DATA_DIR);
  // The WAL goes back into the database file on a thread of its own, not inside a commit of this one.
  const walCheckpointer = new WalCheckpointer({
    path,
    db,
    onError: (err) => options.logger.warn({ err: err.message }, "WAL checkpoint thread failed"),
  });
  const batch = new SqliteBatch(db, { afterCommit: () => walCheckpointer.wake() });
  const store = new SqliteLeadStore({ db, batch, ...ledgerOptions(options) });
  const checkpointer = new SqliteSaver({ db, batch });
  const tuning = options.queue ?? {};
  const queue = new EmbeddedQueue({
    db,
    batch,
    logger: options.logger,
    ...(tuning.attempts !== undefined ? { attempts: tuning.attempts } : {}),
    ...(tuning.backoffMs !== undefined ? { backoffMs: tuning.backoffMs } : {}),
    ...(tuning.pollMs !== undefined ? { pollMs: tuning.pollMs } : {}),
    ...(tuning.leaseMs !== undefined ? { leaseMs: tuning.leaseMs } : {}),
  });
  return {
    profile: "embedded",
    store,
    checkpointer,
    queue,
    history: new SqliteConfigHistory({ db }),
    standIns: db,
    standInWrites: batch,
    eventLog: new SqliteEventLog({ db, keep: env.EVENTS_KEEP }),
    location: path,
    async close() {
      await walCheckpointer.close();
      await store.close();
      await checkpointer.close();
      if (db.isOpen) db.close();
    },
  };
}

/**
 * The Redis profile. Its modules (ioredis, BullMQ, the Redis store and saver) load only here, so the
 * embedded profile's process never holds them (issue 12: idle memory).
 */
async function redisBackend(env: Env, url: string, options: RuntimeOptions): Promise<Backend> {
  const [
    { connectRedis, keyPrefixes },
    { RedisLeadStore },
    { RedisSaver },
    { BullmqQueue },
    { RedisEventLog },
  ] = await Promise.all([
    import("../store/redis-client.ts"),
    import("../store/redis-lead-store.ts"),
    import("../graph/checkpoint/redis-saver.ts"),
    import("../store/queue/bullmq-queue.ts"),
    import("../store/redis-event-log.ts"),
  ]);
  // Fail requests fast while Redis is away: the webhook answers 503 and the sender retries.
  const cluster = env.REDIS_CLUSTER;
  const prefixes = keyPrefixes(cluster);
  const redis = connectRedis({ url, cluster }, { maxRetriesPerRequest: 1, connectTimeout: 2000 });
  redis.on("error", (err) => options.logger.warn({ err: err.message }, "redis connection error"));
  const store = new RedisLeadStore({ redis, prefix: prefixes.store, ...ledgerOptions(options) });
  // A step's writes go with its checkpoint: one command per task less (docs/architecture.md, "The lead's path").
  const checkpointer = new RedisSaver({ redis, holdWrites: true });
  const tuning = options.queue ?? {};
  const queue = new BullmqQueue({
    url,
    cluster,
    prefix: prefixes.bull,
    logger: options.logger,
    ...(tuning.attempts !== undefined ? { attempts: tuning.attempts } : {}),
    ...(tuning.backoffMs !== undefined ? { backoffMs: tuning.backoffMs } : {}),
    ...(tuning.leaseMs !== undefined ? { lockDurationMs: tuning.leaseMs } : {}),
    ...(tuning.stalledIntervalMs !== undefined ? { stalledIntervalMs: tuning.stalledIntervalMs } : {}),
    ...(tuning.maxStalledCount !== undefined ? { maxStalledCount: tuning.maxStalledCount } : {}),
    ...(env.RETENTION_COMPLETED_DAYS > 0
      ? { failedJobAgeSeconds: Math.ceil(env.RETENTION_COMPLETED_DAYS * 86_400) }
      : {}),
  });
  // A stand-in in use (no Slack or no HubSpot credentials) keeps its tables per machine, in DATA_DIR/leadgraph.db.
  const standIns =
    env.SLACK_BOT_TOKEN && env.HUBSPOT_ACCESS_TOKEN ? undefined : openDatabase(env.DATA_DIR).db;
  return {
    profile: "redis",
    redis,
    store,
    checkpointer,
    queue,
    history: new RedisConfigHistory({ redis, prefix: prefixes.store }),
    ...(standIns ? { standIns } : {}),
    eventLog: new RedisEventLog({ redis, prefix: prefixes.store, keep: env.EVENTS_KEEP }),
    location: `${new URL(url).host}${cluster ? " (cluster)" : ""}`,
    async close() {
      await store.close();
      await checkpointer.close();
      await redis.quit().catch(() => redis.disconnect());
      if (standIns?.isOpen) standIns.close();
    },
  };
}

export async function createRuntime(env: Env, options: RuntimeOptions): Promise<LeadRuntime> {
  const { logger, metrics } = options;
  const backend = env.REDIS_URL
    ? await redisBackend(env, env.REDIS_URL, options)
    : embeddedBackend(env, options);
  const { store, checkpointer, queue } = backend;
  let config: ReturnType<typeof loadRevOpsConfig> | undefined;
  let graphDeps: Awaited<ReturnType<typeof createGraphDeps>> | undefined;
  try {
    config = loadRevOpsConfig(env, {
      logger,
      watch: true,
      // History is for people: a failed write costs one line of it, never a lead.
      onVersion: (kind, version) =>
        void backend.history
          .record(kind, version)
          .catch((err: unknown) => logger.warn({ kind, err: String(err) }, "config version not recorded")),
    });
    graphDeps = await createGraphDeps(env, {
      logger,
      counters: store.counters,
      ledger: store.ledger,
      routeMemory: store.routeMemory,
      config,
      ...(backend.standIns ? { standIns: backend.standIns } : {}),
      ...(backend.standInWrites ? { standInWrites: backend.standInWrites } : {}),
      ...(metrics ? { onLlmUsage: (usage: LlmUsage) => metrics.llmCall(usage) } : {}),
    });
  } catch (err) {
    config?.close();
    await backend.close();
    throw err;
  }
  const deps = options.overrideDeps ? options.overrideDeps(graphDeps.deps) : graphDeps.deps;
  const graphCheckpointer = options.instrumentCheckpointer?.(checkpointer) ?? checkpointer;
  const graph = buildLeadGraph(deps, { checkpointer: graphCheckpointer });
  const listeners = new Set<(event: LeadEvent) => void>();
  const forwarder = env.EVENTS_WEBHOOK_URL
    ? createEventForwarder({
        url: env.EVENTS_WEBHOOK_URL,
        logger,
        ...(env.EVENTS_WEBHOOK_SECRET ? { secret: env.EVENTS_WEBHOOK_SECRET } : {}),
      })
    : undefined;
  const events = createLiveEvents({
    log: backend.eventLog,
    logger,
    ...(forwarder ? { onBatch: (batch) => forwarder.forward(batch) } : {}),
  });
  const runner = createLeadRunner({
    graph,
    store,
    checkpointer: graphCheckpointer,
    logger,
    ...(metrics ? { metrics } : {}),
    ...(options.keepCheckpoints !== undefined ? { keepCheckpoints: options.keepCheckpoints } : {}),
    ...(options.hooks ? { hooks: options.hooks } : {}),
    scheduleTimer: (job) => queue.enqueueResume(job),
    onEvent(event) {
      events.publish(event);
      for (const listener of listeners) {
        try {
          listener(event);
        } catch (err) {
          // A broken listener (a closed live view) must never fail a lead.
          logger.warn({ leadId: event.leadId, err: String(err) }, "lead event listener failed");
        }
      }
    },
  });

  const adapters: AdapterChoice[] = [
    { port: "leadStore", adapter: `${store.name} (${backend.location})` },
    { port: "checkpointer", adapter: checkpointer.constructor.name },
    { port: "jobQueue", adapter: queue.name },
    ...namedAfterOverrides(graphDeps.adapters, deps),
  ];
  logger.info({ profile: backend.profile, worker: options.worker }, "runtime profile");
  for (const { port, adapter } of adapters) logger.info({ port, adapter }, `port ${port}: ${adapter}`);

  const reconciler = createReconciler({
    store,
    queue,
    logger,
    intervalMs: options.reconcileIntervalMs ?? env.RECONCILE_INTERVAL_SECONDS * 1000,
  });
  const retention = createRetention({
    store,
    checkpointer,
    queue,
    eventLog: backend.eventLog,
    ...(backend.standIns ? { standIns: backend.standIns } : {}),
    logger,
    completedDays: env.RETENTION_COMPLETED_DAYS,
    intervalMs: options.retentionIntervalMs ?? env.RETENTION_SWEEP_INTERVAL_MINUTES * 60_000,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  if (options.worker) {
    queue.start(
      async (leadId, job) => {
        const resumeJob = job.resume;
        const runOptions = job.retryDelayMs === undefined ? {} : { retryDelayMs: job.retryDelayMs };
        // A resume job (an owner's action, an SLA timer) resumes the lead's wait; any other runs the lead.
        const run = () =>
          resumeJob ? runner.resume(leadId, resumeJob, runOptions) : runner.run(leadId, runOptions);
        try {
          // An admin retry probes vendors whose circuit is open rather than failing fast on them.
          return await (job.probe ? withVendorProbe(run) : run());
        } catch (err) {
          // The runner recorded the failure on the lead. One no rerun can fix (an unusable payload, a
          // contact the CRM does not have) ends the job instead of burning its attempts; an admin retry
          // queues it again once the cause is fixed.
          if (err instanceof LeadRunError && isPermanentError(err.cause)) return "failed";
          throw err;
        }
      },
      { concurrency: env.WORKER_CONCURRENCY, bulkConcurrency: env.IMPORT_CONCURRENCY },
    );
    // At start: leads a stopped process left queued (stored, never enqueued) or running; then periodically.
    await reconciler.start();
    await retention.start();
  }

  let closing: Promise<void> | undefined;
  return {
    profile: backend.profile,
    store,
    checkpointer,
    queue,
    runner,
    graph,
    deps,
    adapters,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    events,
    service: createLeadService({
      profile: backend.profile,
      ...(backend.redis ? { redis: backend.redis } : {}),
      store,
      queue,
      deps,
      logger,
      hubspotEventRules: parseEventRules(env.HUBSPOT_EVENT_PROPERTIES) as EventRules,
      retention,
      routing: createRoutingAdmin({ config, history: backend.history, store, fixturesDir: env.FIXTURES_DIR }),
      events,
      graph,
      prices: { prompt: env.LLM_PROMPT_PRICE_PER_1K, completion: env.LLM_COMPLETION_PRICE_PER_1K },
    }),
    worker: options.worker,
    reconciler,
    retention,
    close(closeOptions = {}) {
      closing ??= (async () => {
        await reconciler.stop();
        await retention.stop();
        await queue.close(closeOptions);
        // The last events of the drained leads are written (and forwarded, briefly) before connections close.
        await events.close();
        await forwarder?.drain(2000);
        await graphDeps.close();
        await backend.close();
      })();
      return closing;
    },
  };
}
