/**
 * The lead runner: runs one lead through the graph on the thread `leadId`, resuming from its checkpoint
 * when an earlier run stopped part-way, and keeps the lead record (status, timeline, result) in step.
 */
import type { BaseCheckpointSaver } from "@langchain/langgraph";
import { routeLabel } from "../domain/labels.ts";
import type { LeadSource } from "../domain/types.ts";
import type { LeadStore, LeadSummary, TimelineEntry } from "../store/lead-store.ts";
import type { Logger } from "../tools/ports.ts";
import type { LeadGraph } from "./build.ts";
import { isPrunableSaver } from "./checkpoint/types.ts";
import type { LeadInput, LeadState } from "./state.ts";

const LEAD_SOURCES: readonly LeadSource[] = ["generic", "hubspot-workflow", "hubspot-contact"];

/** What the runner reports; the HTTP host backs it with prom-client. */
export interface RunnerMetrics {
  nodeFinished(node: string, seconds: number, status: "ok" | "error"): void;
  leadCompleted(path: string): void;
  leadFailed(path: string, node: string | undefined): void;
}

/** Observers of a run, called in order and awaited; a throwing observer fails the run. */
export interface RunnerHooks {
  /** A node started. */
  onNodeStart?(leadId: string, node: string): void | Promise<void>;
  /** A node finished and the checkpoint holding its result is durable. */
  onNodeCheckpointed?(leadId: string, node: string): void | Promise<void>;
}

export interface LeadRunnerOptions {
  graph: LeadGraph;
  store: LeadStore;
  checkpointer: BaseCheckpointSaver;
  logger: Logger;
  metrics?: RunnerMetrics;
  /** Checkpoints kept per thread once a lead completes (retention). Default 1. */
  keepCheckpoints?: number;
  hooks?: RunnerHooks;
  clock?: () => Date;
}

export type RunOutcome = "completed" | "already-completed";

export interface LeadRunner {
  /** Runs or resumes the lead; rethrows the failure after recording it on the lead. */
  run(leadId: string): Promise<RunOutcome>;
}

/** A failure inside one graph node, with the node's id. */
export class LeadRunError extends Error {
  override readonly name = "LeadRunError";
  readonly code = "lead_run_failed";
  constructor(
    readonly leadId: string,
    readonly node: string | undefined,
    cause: unknown,
  ) {
    super(`lead ${leadId} failed${node ? ` in ${node}` : ""}: ${messageOf(cause)}`, { cause });
  }
}

export class LeadMissingError extends Error {
  override readonly name = "LeadMissingError";
  readonly code = "lead_missing";
  constructor(readonly leadId: string) {
    super(`lead ${leadId} is not in the store`);
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The JSON summary stored on a completed lead: what admins and the API show. */
export function resultSummary(state: LeadState): Record<string, unknown> {
  const { score, route } = state;
  return {
    score: score?.value,
    tier: score?.tier,
    ruleScore: score?.ruleScore,
    reasons: score?.reasons ?? [],
    llm: score?.llm
      ? { adjustment: score.llm.adjustment, reasons: score.llm.reasons, model: score.llm.model }
      : undefined,
    owner: routeLabel(route),
    ownerId: route?.ownerId,
    queue: route?.queue,
    pool: route?.pool,
    rule: route?.ruleName,
    explanation: route?.explanation ?? [],
    path: state.path,
    warnings: state.warnings,
    notifications: state.notifications,
    crm: state.crm,
  };
}

function inputOf(record: LeadSummary): LeadInput {
  const source = LEAD_SOURCES.find((s) => s === record.source);
  return {
    leadId: record.leadId,
    receivedAt: record.receivedAt,
    raw: record.payload,
    ...(source ? { source } : {}),
  };
}

/** LangGraph's "debug" stream event. */
interface DebugEvent {
  type: "task" | "task_result" | "checkpoint";
  timestamp: string;
  payload: unknown;
}

interface Step {
  node: string;
  startedAt: Date;
  endedAt?: Date;
}

export function createLeadRunner(options: LeadRunnerOptions): LeadRunner {
  const { graph, store, checkpointer, metrics, hooks = {} } = options;
  const keepLast = options.keepCheckpoints ?? 1;
  const clock = options.clock ?? (() => new Date());

  async function finish(leadId: string, state: LeadState, log: Logger): Promise<void> {
    await store.markCompleted(leadId, resultSummary(state));
    metrics?.leadCompleted(state.path ?? "none");
    log.info({ leadId, path: state.path, owner: routeLabel(state.route) }, "lead completed");
    if (isPrunableSaver(checkpointer)) {
      // Retention is housekeeping: a failed prune leaves extra checkpoints, never a wrong lead.
      await checkpointer
        .prune(leadId, { keepLast })
        .catch((err: unknown) => log.warn({ leadId, err: messageOf(err) }, "checkpoint prune failed"));
    }
  }

  async function record(leadId: string, step: Step, status: "ok" | "error", error?: string): Promise<void> {
    const endedAt = step.endedAt ?? clock();
    const durationMs = Math.max(0, endedAt.getTime() - step.startedAt.getTime());
    const entry: TimelineEntry = {
      node: step.node,
      startedAt: step.startedAt.toISOString(),
      endedAt: endedAt.toISOString(),
      durationMs,
      status,
      ...(error !== undefined ? { error } : {}),
    };
    await store.appendTimeline(leadId, entry);
    metrics?.nodeFinished(step.node, durationMs / 1000, status);
  }

  async function run(leadId: string): Promise<RunOutcome> {
    const log = options.logger;
    // Marks the lead running (one more attempt) and reads it, in one step; a completed lead is left alone.
    const lead = await store.beginAttempt(leadId);
    if (!lead) throw new LeadMissingError(leadId);
    if (lead.status === "completed") {
      log.info({ leadId }, "lead already completed; nothing to do");
      return "already-completed";
    }
    const config = { configurable: { thread_id: leadId } };

    const steps = new Map<string, Step>();
    let finalState: LeadState | undefined;
    try {
      // A checkpoint means an earlier run got part-way (or all the way, then stopped before markCompleted).
      // A lead never marked running has never run, so its first run skips the lookup.
      const saved =
        lead.attempts === 0 && lead.status === "queued" ? undefined : await checkpointer.getTuple(config);
      let input: LeadInput | null = inputOf(lead);
      if (saved) {
        const snapshot = await graph.getState(config);
        if (snapshot.next.length === 0) {
          await finish(leadId, snapshot.values as LeadState, log);
          return "completed";
        }
        input = null;
        log.info(
          { leadId, next: snapshot.next, attempt: lead.attempts + 1 },
          "resuming lead from checkpoint",
        );
      } else {
        log.info({ leadId, attempt: lead.attempts + 1 }, "running lead");
      }

      // "sync" durability: each step's checkpoint is written before the next node runs, so a checkpoint
      // event means the nodes that ended before it are durable. Debug events carry the graph's own
      // timestamps, so durations do not depend on how fast this loop reads them.
      const stream = await graph.stream(input, { ...config, streamMode: "debug", durability: "sync" });
      for await (const event of stream) {
        const { type, timestamp, payload } = event as DebugEvent;
        if (type === "task" || type === "task_result") {
          const task = payload as { id: string; name: string };
          if (task.name.startsWith("__")) continue;
          if (type === "task_result") {
            const step = steps.get(task.id);
            if (step) step.endedAt = new Date(timestamp);
          } else {
            steps.set(task.id, { node: task.name, startedAt: new Date(timestamp) });
            await hooks.onNodeStart?.(leadId, task.name);
          }
        } else if (type === "checkpoint") {
          finalState = (payload as { values: LeadState }).values;
          for (const [id, step] of steps) {
            if (!step.endedAt) continue;
            steps.delete(id);
            await record(leadId, step, "ok");
            log.debug({ leadId, node: step.node }, "node done");
            await hooks.onNodeCheckpointed?.(leadId, step.node);
          }
        }
      }
    } catch (err) {
      const failed = [...steps.values()][0];
      const message = messageOf(err);
      for (const step of steps.values()) await record(leadId, step, "error", message).catch(() => undefined);
      await store
        .markFailed(leadId, { ...(failed ? { node: failed.node } : {}), message })
        // The queue still sees the run's own error, and its retry records the status again.
        .catch((storeErr: unknown) =>
          log.error({ leadId, err: messageOf(storeErr) }, "could not mark lead failed"),
        );
      metrics?.leadFailed(finalState?.path ?? "none", failed?.node);
      log.error({ leadId, node: failed?.node, err: message }, "lead failed");
      throw new LeadRunError(leadId, failed?.node, err);
    }
    if (!finalState) throw new Error(`lead ${leadId}: the graph produced no checkpoint`);
    await finish(leadId, finalState, log);
    return "completed";
  }

  return { run };
}
