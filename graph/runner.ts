/**
 * The lead runner: runs one lead through the graph on the thread `leadId`, resuming from its checkpoint
 * when an earlier run stopped part-way, and keeps the lead record (status, timeline, result) in step.
 *
 * Progress comes from LangGraph's own stream modes: `custom` (each node's start and end, timed inside its
 * task by graph/events.ts), `updates` (what each node wrote: route, warnings, notifications) and
 * `checkpoints` (a step is durable). `stream(leadId)` yields it as LeadEvents; `run(leadId)` drains it.
 *
 * Over 300 lines because a lead run's lifecycle (claim, stream, record, fail, resume) is one sequence that reads best in one file.
 */
import { type BaseCheckpointSaver, Command } from "@langchain/langgraph";
import { routeLabel } from "../domain/labels.ts";
import {
  isOwnerWait,
  type OwnerResume,
  type Ownership,
  type OwnerWait,
  type WaitState,
} from "../domain/ownership.ts";
import { LEAD_SOURCES } from "../domain/types.ts";
import { isPermanentError } from "../nodes/capture.ts";
import type { LeadRecord, LeadStore, LeadSummary, TimelineEntry } from "../store/lead-store.ts";
import type { ResumeJob } from "../store/queue/job-queue.ts";
import type { Logger } from "../tools/ports.ts";
import type { LeadGraph } from "./build.ts";
import { hasNewThreadHint, isPrunableSaver } from "./checkpoint/types.ts";
import { isNodeProgress, type LeadEvent, type NodeProgress } from "./events.ts";
import { leadFacets, resultSummary, rootCauseOf } from "./result.ts";
import type { LeadInput, LeadState } from "./state.ts";

/** What the runner reports; the HTTP host backs it with prom-client. */
export interface RunnerMetrics {
  nodeFinished(node: string, seconds: number, status: "ok" | "error"): void;
  leadCompleted(path: string): void;
  leadFailed(path: string, node: string | undefined): void;
  /** A lead got its route: an owner (undefined for a queue) and a path. */
  leadRouted?(ownerId: string | undefined, path: string): void;
  /** The owner (or queue) was told, `seconds` after the webhook received the lead (speed to lead). */
  leadNotified?(ownerId: string | undefined, seconds: number): void;
  /** The owner accepted the lead `seconds` after they were told (time to accept). */
  leadAccepted?(ownerId: string, seconds: number): void;
  /** An acceptance SLA ran out for `ownerId` (undefined: a review queue); `action`: reassign, escalate, notify. */
  slaBreached?(ownerId: string | undefined, action: string): void;
  /** The lead went from one holder to another (`kind`: reassign, decline, sla, review). */
  leadHandedOver?(kind: string): void;
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
  /** Every event of every run, as it happens (a live view, an event bus). Must not throw. */
  onEvent?: (event: LeadEvent) => void;
  clock?: () => Date;
  /** Schedules an SLA timer (a resume job at the deadline) when a lead starts waiting with one. */
  scheduleTimer?: (job: ResumeJob) => Promise<unknown>;
}

/**
 * completed; already-completed (nothing to do); awaiting (delivered, and waiting in the graph for a person
 * or a timer); stale (a resume whose wait another action or timer had already decided: nothing done).
 */
export type RunOutcome = "completed" | "already-completed" | "awaiting" | "stale";

export interface RunOptions {
  /**
   * The queue runs the lead again this long after a failure of this run: the lead is then `retrying` with
   * its next attempt time, not `failed` (unless the error is one no rerun fixes). Absent: the last run.
   */
  retryDelayMs?: number;
}

export interface LeadRunner {
  /** Runs or resumes the lead; rethrows the failure after recording it on the lead. */
  run(leadId: string, options?: RunOptions): Promise<RunOutcome>;
  /**
   * The same run, as its events: node started/finished with durations, the route, warnings, then completed
   * or failed. The iterator's return value is the outcome; a failure is yielded, then thrown.
   */
  stream(leadId: string, options?: RunOptions): AsyncGenerator<LeadEvent, RunOutcome>;
  /**
   * Resumes a waiting lead with an action or a timer (`Command({ resume })`). The first resume of a wait
   * (its round) decides it, claimed through the ledger; any other resume of that round is a no-op ("stale"),
   * unless the claimer's job failed for good: then the next resume of the round may decide a wait still open.
   */
  resume(leadId: string, job: { jobId: string; value: unknown }, options?: RunOptions): Promise<RunOutcome>;
}

/** A failure inside one graph node, with the node's id. */
export class LeadRunError extends Error {
  override readonly name = "LeadRunError";
  readonly code = "lead_run_failed";
  readonly leadId: string;
  readonly node: string | undefined;
  constructor(leadId: string, node: string | undefined, cause: unknown) {
    super(`lead ${leadId} failed${node ? ` in ${node}` : ""}: ${messageOf(cause)}`, { cause });
    this.leadId = leadId;
    this.node = node;
  }
}

export class LeadMissingError extends Error {
  override readonly name = "LeadMissingError";
  readonly code = "lead_missing";
  readonly leadId: string;
  constructor(leadId: string) {
    super(`lead ${leadId} is not in the store`);
    this.leadId = leadId;
  }
}

/**
 * Whether the queue runs this job no more after `err`: it has no attempt left, or no rerun can fix the cause
 * (the worker ends such a job at once, app/runtime.ts). A run's failure comes wrapped in a LeadRunError.
 */
function isLastAttempt(err: unknown, options: RunOptions): boolean {
  return (
    options.retryDelayMs === undefined || isPermanentError(err instanceof LeadRunError ? err.cause : err)
  );
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** How a wait ended, for the timeline. */
function decisionText(decision: OwnerResume): string {
  if (decision.type === "timer") return `SLA timer fired (round ${decision.round})`;
  const a = decision.action;
  return `${a.action}${a.reason ? ` (${a.reason})` : ""}${a.to ? ` to ${a.to}` : ""} by ${a.by} via ${a.via}`;
}

/** Where the lead stands after a decision, for the timeline. */
function ownershipText(ownership: Ownership | undefined): string | undefined {
  if (!ownership) return undefined;
  const last = ownership.handoffs.at(-1);
  if (ownership.status === "accepted") return `accepted by ${ownership.decidedBy ?? "?"}`;
  if (last && last.at === ownership.decidedAt)
    return `${ownership.status}: ${last.kind} ${last.from} → ${last.to ?? "nobody"}`;
  if (last)
    return `${last.kind}: ${last.from} → ${last.to ?? "nobody"} after ${Math.round(last.afterMs / 1000)} s`;
  return ownership.status;
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

/** One node's run within this attempt, from its progress events. */
interface Step {
  node: string;
  startedAt: number;
  endedAt?: number;
  status?: "ok" | "error";
  error?: string;
  /** What the step decided, in words (a hand-off). */
  detail?: string;
}

type StreamChunk =
  | ["custom", unknown]
  | [
      "updates",
      Record<string, Partial<LeadState> | undefined> & { __interrupt__?: Array<{ value?: unknown }> },
    ]
  | ["checkpoints", { values: LeadState }];

/** What a resume run knows of the wait it ends. */
interface ResumeInfo {
  /** The node the wait is (awaitOwner, reviewLead): its step on the timeline spans the wait. */
  resumeAt?: string;
  waitSince?: string | undefined;
  resuming?: boolean;
  /** The ownership before the decision (metrics: what changed). */
  before?: Ownership | undefined;
  /** The SLA timer ended the wait. */
  timer?: boolean;
  waitOwner?: string | null;
}

/** The owner-loop wait among an update's interrupts, if any. */
function waitOfInterrupts(interrupts: Array<{ value?: unknown }> | undefined): OwnerWait | undefined {
  return interrupts?.map((i) => i.value).find(isOwnerWait);
}

/** The ownership a waiting lead's record shows: the state's, with the wait's round, holder and clock. */
export function waitingOwnership(state: LeadState, wait: WaitState): Ownership {
  const base: Ownership = state.ownership ?? { ownerId: wait.ownerId, status: "awaiting", handoffs: [] };
  const { decidedBy: _by, decidedAt: _at, deadline: _d, ...rest } = base;
  return {
    ...rest,
    ownerId: wait.ownerId,
    status: "awaiting",
    round: wait.round,
    waitingFor: wait.kind,
    awaitingSince: wait.since,
    ...(wait.deadline ? { deadline: wait.deadline } : {}),
  };
}

export function createLeadRunner(options: LeadRunnerOptions): LeadRunner {
  const { graph, store, checkpointer, metrics, hooks = {}, onEvent } = options;
  const keepLast = options.keepCheckpoints ?? 1;
  const clock = options.clock ?? (() => new Date());
  const log = options.logger;

  async function finish(leadId: string, state: LeadState): Promise<void> {
    await store.markCompleted(leadId, resultSummary(state), leadFacets(state));
    metrics?.leadCompleted(state.path ?? "none");
    log.info({ leadId, path: state.path, owner: routeLabel(state.route) }, "lead completed");
    if (isPrunableSaver(checkpointer)) {
      // Retention is housekeeping: a failed prune leaves extra checkpoints, never a wrong lead.
      await checkpointer
        .prune(leadId, { keepLast })
        .catch((err: unknown) => log.warn({ leadId, err: messageOf(err) }, "checkpoint prune failed"));
    }
  }

  /**
   * The lead is delivered and waits: its SLA timer is set, then its record says for whom and until when. In
   * that order: a process killed in between leaves the lead `running` (the reconciler runs it again, which
   * reaches the same wait and the same timer id), never `awaiting` without its timer.
   */
  async function awaiting(leadId: string, state: LeadState, wait: WaitState): Promise<void> {
    const ownership = waitingOwnership(state, wait);
    if (wait.deadline && options.scheduleTimer) {
      const value: OwnerResume = { type: "timer", round: wait.round, at: wait.deadline };
      // One timer per wait: the id is deterministic, so a replayed wait does not add a second.
      await options.scheduleTimer({
        leadId,
        jobId: `sla:${leadId}:${wait.round}`,
        value,
        runAt: Date.parse(wait.deadline),
      });
    }
    await store.markAwaiting(leadId, { ...resultSummary(state), ownership }, leadFacets(state));
    log.info(
      { leadId, ownerId: wait.ownerId, round: wait.round, waitingFor: wait.kind, deadline: wait.deadline },
      "lead awaiting",
    );
    // A waiting lead resumes from its newest checkpoint and the interrupt written on it, which pruning keeps;
    // the steps before it would otherwise stay for as long as the owner takes (issue 12: bytes per lead).
    if (isPrunableSaver(checkpointer)) {
      await checkpointer
        .prune(leadId, { keepLast })
        .catch((err: unknown) => log.warn({ leadId, err: messageOf(err) }, "checkpoint prune failed"));
    }
  }

  async function record(leadId: string, step: Step): Promise<void> {
    const endedAt = step.endedAt ?? clock().getTime();
    const durationMs = Math.max(0, endedAt - step.startedAt);
    const status = step.status ?? "error";
    const entry: TimelineEntry = {
      node: step.node,
      startedAt: new Date(step.startedAt).toISOString(),
      endedAt: new Date(endedAt).toISOString(),
      durationMs,
      status,
      ...(step.error !== undefined ? { error: step.error } : {}),
      ...(step.detail !== undefined ? { detail: step.detail } : {}),
    };
    await store.appendTimeline(leadId, entry);
    metrics?.nodeFinished(step.node, durationMs / 1000, status);
  }

  /** Events the updates of one node carry: the route, the message sent, its warnings. */
  function updateEvents(leadId: string, update: Partial<LeadState>, at: string): LeadEvent[] {
    const events: LeadEvent[] = [];
    if (update.route) {
      const { route } = update;
      events.push({
        type: "lead.routed",
        leadId,
        at,
        path: update.path,
        rule: route.ruleName,
        ...(route.ownerId ? { ownerId: route.ownerId } : {}),
        ...(route.queue ? { queue: route.queue } : {}),
        ...(route.pool ? { pool: route.pool } : {}),
      });
    }
    // Each update carries the whole list: its last entry is the message just sent (a hand-off's is not the
    // first, and speed to lead counts the first only).
    const sent = update.notifications ?? [];
    const n = sent.at(-1);
    if (n)
      events.push({
        type: "lead.notified",
        leadId,
        at,
        channel: n.channel,
        ...(n.ownerId ? { ownerId: n.ownerId } : {}),
        ...(sent.length > 1 ? { handoff: true } : {}),
      });
    for (const warning of update.warnings ?? []) events.push({ type: "lead.warning", leadId, at, warning });
    return events;
  }

  /** Emits an event to the caller's listener and metrics; `receivedAtMs` times speed to lead. */
  function emitter(receivedAtMs: number) {
    return (event: LeadEvent): LeadEvent => {
      if (event.type === "lead.routed") metrics?.leadRouted?.(event.ownerId, event.path ?? "none");
      else if (event.type === "lead.notified" && !event.handoff && Number.isFinite(receivedAtMs))
        metrics?.leadNotified?.(event.ownerId, Math.max(0, Date.parse(event.at) - receivedAtMs) / 1000);
      onEvent?.(event);
      return event;
    };
  }

  const now = () => clock().toISOString();

  async function* stream(leadId: string, options: RunOptions = {}): AsyncGenerator<LeadEvent, RunOutcome> {
    // Marks the lead running (one more attempt) and reads it, in one step; a completed lead is left alone.
    const lead = await store.beginAttempt(leadId);
    if (!lead) throw new LeadMissingError(leadId);
    const emit = emitter(Date.parse(lead.receivedAt));
    if (lead.status === "completed") {
      log.info({ leadId }, "lead already completed; nothing to do");
      yield emit({ type: "lead.completed", leadId, at: now(), path: undefined, alreadyCompleted: true });
      return "already-completed";
    }
    if (lead.status === "awaiting") {
      // Delivered and waiting for a person or its timer: only a resume job (an action, the timer) moves it.
      log.info({ leadId }, "lead awaits a decision; nothing to run");
      return "awaiting";
    }
    const config = { configurable: { thread_id: leadId } };
    let input: LeadInput | null = inputOf(lead);
    let endHint: (() => void) | undefined;
    try {
      // A checkpoint means an earlier run got part-way (or all the way, then stopped before markCompleted).
      // A lead never marked running has never run, so its first run skips the lookup.
      const firstRun = lead.attempts === 0 && lead.status === "queued";
      // LangGraph reads the thread again as the run starts; a saver told it is new skips that read.
      if (firstRun && hasNewThreadHint(checkpointer)) endHint = checkpointer.expectNewThread(leadId);
      const saved = firstRun ? undefined : await checkpointer.getTuple(config);
      if (saved) {
        const snapshot = await graph.getState(config);
        if (snapshot.next.length === 0) {
          const state = snapshot.values as LeadState;
          await finish(leadId, state);
          yield emit({ type: "lead.completed", leadId, at: now(), path: state.path });
          return "completed";
        }
        input = null;
        log.info(
          { leadId, next: snapshot.next, attempt: lead.attempts + 1 },
          "resuming lead from checkpoint",
        );
        yield emit({
          type: "run.started",
          leadId,
          at: now(),
          attempt: lead.attempts + 1,
          resumeAt: [...snapshot.next],
        });
      } else {
        log.info({ leadId, attempt: lead.attempts + 1 }, "running lead");
        yield emit({ type: "run.started", leadId, at: now(), attempt: lead.attempts + 1 });
      }
    } catch (err) {
      endHint?.();
      yield* failed(leadId, err, new Map(), undefined, options, emit, false);
      throw new LeadRunError(leadId, undefined, err);
    }
    try {
      return yield* drive(leadId, input, options, emit, {});
    } finally {
      endHint?.();
    }
  }

  async function resume(
    leadId: string,
    job: { jobId: string; value: unknown },
    options: RunOptions = {},
  ): Promise<RunOutcome> {
    const value = job.value as OwnerResume;
    const round = value.round;
    // A timer or action that outlived its lead (deleted by retention or an admin) has nothing to decide.
    const lead = await store.getLead(leadId);
    if (!lead) {
      log.info({ leadId, jobId: job.jobId, round }, "resume ignored: the lead no longer exists");
      return "stale";
    }
    const claim = await decideClaim(leadId, round, job.jobId);
    if (claim.winner !== job.jobId) {
      log.info(
        { leadId, jobId: job.jobId, round, decidedBy: claim.winner },
        "resume ignored: the wait was already decided",
      );
      return "stale";
    }
    try {
      return await decide(lead, job, claim, options);
    } catch (err) {
      // This job's last attempt: whatever it did not decide, the next resume of the round may.
      if (isLastAttempt(err, options))
        await store.ledger
          .once(`${claim.key}:failed`, async () => true)
          .catch((markErr: unknown) =>
            log.error({ leadId, round, err: messageOf(markErr) }, "could not hand the wait's round on"),
          );
      throw err;
    }
  }

  /**
   * Which resume decides the wait of `round`: the first to claim it in the ledger, so that two of one round
   * (a double click, an action racing its timer) give one outcome, even on two workers at once. A decider
   * whose job failed for good marks its claim failed, and the round's claim passes to the next resume of it
   * (`inherited`), which may decide a wait still open and nothing else.
   */
  async function decideClaim(
    leadId: string,
    round: number,
    jobId: string,
  ): Promise<{ key: string; winner: string; inherited: boolean }> {
    let key = `${leadId}:decide:${round}`;
    for (let inherited = false; ; inherited = true) {
      const winner = await store.ledger.once(key, async () => jobId);
      if (winner === jobId || !(await store.ledger.get<boolean>(`${key}:failed`)))
        return { key, winner, inherited };
      key = `${key}:next`;
    }
  }

  /** Resumes the lead's wait with the value of the job that claimed its round. */
  async function decide(
    lead: LeadRecord,
    job: { jobId: string; value: unknown },
    claim: { inherited: boolean },
    options: RunOptions,
  ): Promise<RunOutcome> {
    const { leadId } = lead;
    const value = job.value as OwnerResume;
    const round = value.round;
    const emit = emitter(Date.parse(lead.receivedAt));
    const config = { configurable: { thread_id: leadId } };
    const snapshot = await graph.getState(config);
    const wait = waitOfInterrupts(snapshot.tasks.flatMap((t) => t.interrupts ?? []));
    let input: Command | null;
    if (wait && wait.round === round) input = new Command({ resume: value });
    else if (wait) {
      log.info(
        { leadId, jobId: job.jobId, round, waiting: wait.round },
        "resume ignored: the lead waits in a later round",
      );
      return "stale";
    } else if (claim.inherited) {
      // The failed decider's run got past the wait: what is left of it is an admin retry's, not ours.
      log.info({ leadId, jobId: job.jobId, round }, "resume ignored: the wait was decided before it failed");
      return "stale";
    } else if (snapshot.next.length > 0)
      input = null; // this resume's earlier run stopped part-way
    else {
      if (lead.status !== "completed") await finish(leadId, snapshot.values as LeadState);
      return "completed";
    }
    log.info({ leadId, jobId: job.jobId, round, type: value.type }, "resuming waiting lead");
    const before = (snapshot.values as Partial<LeadState>).ownership;
    const events = drive(leadId, input, options, emit, {
      resumeAt: wait?.kind === "review" ? "reviewLead" : "awaitOwner",
      waitSince: wait && "since" in wait ? String(wait.since) : undefined,
      resuming: true,
      before,
      timer: value.type === "timer",
      waitOwner: wait?.ownerId ?? null,
    });
    for (;;) {
      const next = await events.next();
      if (next.done) return next.value;
    }
  }

  /** Streams the graph from `input` (a new lead, null to go on from the checkpoint, or a resume Command). */
  async function* drive(
    leadId: string,
    input: LeadInput | Command | null,
    options: RunOptions,
    emit: (event: LeadEvent) => LeadEvent,
    resumeInfo: ResumeInfo,
  ): AsyncGenerator<LeadEvent, RunOutcome> {
    const config = { configurable: { thread_id: leadId } };
    const steps = new Map<string, Step>();
    let finalState: LeadState | undefined;
    let wait: OwnerWait | undefined;
    try {
      // "sync" durability: each step's checkpoint is written before the next node runs, so a checkpoint
      // event means the nodes that ended before it are durable.
      // The graph is typed by its node ids; a resume Command names none (it only carries the resume value).
      const chunks = await graph.stream(input as Parameters<LeadGraph["stream"]>[0], {
        ...config,
        streamMode: ["custom", "updates", "checkpoints"],
        durability: "sync",
      });
      for await (const chunk of chunks as AsyncIterable<StreamChunk>) {
        const [mode, payload] = chunk;
        if (mode === "custom") {
          if (!isNodeProgress(payload)) continue;
          const event = progressEvent(leadId, payload, steps);
          if (payload.phase === "start") await hooks.onNodeStart?.(leadId, payload.node);
          if (event) yield emit(event);
        } else if (mode === "updates") {
          const at = now();
          if (payload.__interrupt__) {
            wait = waitOfInterrupts(payload.__interrupt__) ?? wait;
            continue;
          }
          for (const [node, update] of Object.entries(payload)) {
            if (!update || node === "__interrupt__" || Array.isArray(update)) continue;
            for (const event of updateEvents(leadId, update, at)) yield emit(event);
          }
        } else {
          finalState = payload.values;
          for (const step of steps.values()) {
            if (step.status !== "ok") continue;
            steps.delete(step.node);
            // The wait itself is the step: from when the holder was told to the decision.
            if (step.node === resumeInfo.resumeAt && resumeInfo.waitSince) {
              const since = Date.parse(resumeInfo.waitSince);
              if (Number.isFinite(since)) step.startedAt = Math.min(since, step.startedAt);
              const decision = finalState.decision;
              if (decision) step.detail = decisionText(decision);
            }
            if (step.node === "applyDecision") step.detail = ownershipText(finalState.ownership);
            await record(leadId, step);
            log.debug({ leadId, node: step.node }, "node done");
            await hooks.onNodeCheckpointed?.(leadId, step.node);
          }
        }
      }
      if (!finalState) throw new Error(`lead ${leadId}: the graph produced no checkpoint`);
      if (resumeInfo.resuming) observeDecision(resumeInfo.before, finalState.ownership, resumeInfo);
      // Inside the try: a store that cannot take the completion fails the run like any other error, so the
      // lead is never left `running` by it.
      if (wait) {
        const routingWait = wait as WaitState;
        await awaiting(leadId, finalState, routingWait);
        yield emit({
          type: "lead.awaiting",
          leadId,
          at: now(),
          round: wait.round,
          waitingFor: wait.kind,
          ...(wait.ownerId ? { ownerId: wait.ownerId } : {}),
          ...(routingWait.deadline ? { deadline: routingWait.deadline } : {}),
        });
        return "awaiting";
      }
      await finish(leadId, finalState);
    } catch (err) {
      yield* failed(leadId, err, steps, finalState, options, emit, resumeInfo.resuming === true);
      const failedStep = [...steps.values()].find((s) => s.status === "error") ?? [...steps.values()][0];
      throw new LeadRunError(leadId, failedStep?.node, err);
    }
    yield emit({ type: "lead.completed", leadId, at: now(), path: finalState.path });
    return "completed";
  }

  /** Records a failed run on the lead (failed, or retrying with its next attempt time) and yields the event. */
  async function* failed(
    leadId: string,
    err: unknown,
    steps: Map<string, Step>,
    finalState: LeadState | undefined,
    options: RunOptions,
    emit: (event: LeadEvent) => LeadEvent,
    resuming: boolean,
  ): AsyncGenerator<LeadEvent, void> {
    const failedStep = [...steps.values()].find((s) => s.status === "error") ?? [...steps.values()][0];
    const message = messageOf(err);
    const cause = rootCauseOf(err);
    for (const step of steps.values())
      await record(leadId, { ...step, status: "error", error: step.error ?? message }).catch(() => undefined);
    const error = { ...(failedStep ? { node: failedStep.node } : {}), message, ...(cause ? { cause } : {}) };
    const facets = finalState ? leadFacets(finalState) : undefined;
    const nextAttemptAt =
      options.retryDelayMs === undefined || isLastAttempt(err, options)
        ? undefined
        : new Date(clock().getTime() + options.retryDelayMs).toISOString();
    // A resume the queue runs again stays `awaiting` meanwhile: a `retrying` lead would be requeued by the
    // reconciler as a second, concurrent run. Its last attempt fails the lead (an admin retry goes on).
    if (!(resuming && nextAttemptAt))
      await (nextAttemptAt
        ? store.markRetrying(leadId, error, nextAttemptAt, facets)
        : store.markFailed(leadId, error, facets)
      )
        // The queue still sees the run's own error, and its retry records the status again (or the
        // reconciler does, app/reconciler.ts).
        .catch((storeErr: unknown) =>
          log.error({ leadId, err: messageOf(storeErr) }, "could not mark lead failed"),
        );
    metrics?.leadFailed(finalState?.path ?? "none", failedStep?.node);
    log.error({ leadId, node: failedStep?.node, err: message }, "lead failed");
    yield emit({
      type: "lead.failed",
      leadId,
      at: now(),
      error: message,
      ...(failedStep ? { node: failedStep.node } : {}),
      ...(nextAttemptAt ? { nextAttemptAt } : {}),
    });
  }

  /** The owner loop's figures from one decision: time to accept, an SLA breach, hand-offs. */
  function observeDecision(
    before: Ownership | undefined,
    after: Ownership | undefined,
    info: ResumeInfo,
  ): void {
    if (!metrics || !after) return;
    const since = info.waitSince ? Date.parse(info.waitSince) : Number.NaN;
    if (after.status === "accepted" && before?.status !== "accepted" && after.ownerId && after.decidedAt) {
      const ms = Date.parse(after.decidedAt) - since;
      if (Number.isFinite(ms)) metrics.leadAccepted?.(after.ownerId, Math.max(0, ms) / 1000);
    }
    const added = after.handoffs.slice(before?.handoffs.length ?? 0);
    for (const h of added) if (h.to !== null && h.kind !== "escalate") metrics.leadHandedOver?.(h.kind);
    if (info.timer) {
      const action = added.some((h) => h.kind === "sla")
        ? "reassign"
        : added.some((h) => h.kind === "escalate")
          ? "escalate"
          : "notify";
      metrics.slaBreached?.(info.waitOwner ?? undefined, action);
    }
  }

  /** Tracks the node's step and turns its progress into a LeadEvent. */
  function progressEvent(leadId: string, progress: NodeProgress, steps: Map<string, Step>): LeadEvent | null {
    const at = new Date(progress.at).toISOString();
    const { node } = progress;
    if (progress.phase === "start") {
      steps.set(node, { node, startedAt: progress.at });
      return { type: "node.started", leadId, node, at };
    }
    const step = steps.get(node);
    if (!step) return null;
    step.endedAt = progress.at;
    const durationMs = progress.durationMs ?? Math.max(0, progress.at - step.startedAt);
    if (progress.phase === "end") {
      step.status = "ok";
      return { type: "node.finished", leadId, node, at, durationMs };
    }
    if (progress.phase === "interrupted") {
      // The node pauses for a person and runs again on resume: not a step of this attempt's timeline.
      steps.delete(node);
      return null;
    }
    step.status = "error";
    step.error = progress.error ?? "failed";
    return { type: "node.failed", leadId, node, at, durationMs, error: step.error };
  }

  async function run(leadId: string, options: RunOptions = {}): Promise<RunOutcome> {
    const events = stream(leadId, options);
    for (;;) {
      const next = await events.next();
      if (next.done) return next.value;
    }
  }

  return { run, stream, resume };
}
