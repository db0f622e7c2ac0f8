/**
 * Retention (ARCHITECTURE section 6, docs/architecture.md "Retention"): completed leads are deleted once
 * they have not changed for RETENTION_COMPLETED_DAYS, with everything kept for them — record, timeline,
 * search index entries, ledger, idempotency key, route memory naming them, checkpoints, queue job, and the
 * stand-ins' per-lead rows; the event log loses what is older than the window. Failed leads are kept until
 * handled: retried to completion (the window then runs from completion) or deleted by an admin (`forget`).
 * Unfinished leads (queued, running, retrying, and any status but completed or failed) are never deleted.
 *
 * The sweep runs in every worker process at start and every RETENTION_SWEEP_INTERVAL_MINUTES; its steps are
 * idempotent, so several processes may sweep at once.
 */
import type { DatabaseSync } from "node:sqlite";
import type { BaseCheckpointSaver } from "@langchain/langgraph";
import type { EventLog } from "../store/event-log.ts";
import type { LeadStatus, LeadStore } from "../store/lead-store.ts";
import type { JobQueue } from "../store/queue/job-queue.ts";
import { forgetLeadEffects } from "../tools/embedded/stand-in-retention.ts";
import type { Logger } from "../tools/ports.ts";

export const DAY_MS = 86_400_000;

export interface RetentionOptions {
  store: LeadStore;
  checkpointer: BaseCheckpointSaver;
  queue: JobQueue;
  eventLog: EventLog;
  /** The stand-ins' database (outbox, local CRM), when one is in use. */
  standIns?: DatabaseSync;
  logger: Logger;
  /** Completed leads older than this (since their last change) are deleted; 0 keeps them forever. */
  completedDays: number;
  /** Between sweeps. Default 1 hour. */
  intervalMs?: number;
  clock?: () => Date;
}

export interface SweepReport {
  /** Completed leads deleted. */
  deleted: number;
  /** The cutoff the sweep used (ISO), absent when retention is off. */
  before?: string;
}

export type ForgetResult =
  | { ok: true }
  | { ok: false; reason: "not_found" }
  /** Only a lead that has finished (completed or failed) may be deleted. */
  | { ok: false; reason: "unfinished"; status: LeadStatus };

export interface Retention {
  sweep(): Promise<SweepReport>;
  /** A sweep now, then one every interval until `stop`. */
  start(): Promise<SweepReport>;
  stop(): Promise<void>;
  /** An admin deleting a finished lead (a failed lead is "handled" this way). */
  forget(leadId: string): Promise<ForgetResult>;
}

/** Statuses an admin may delete; everything else is a lead still on its way. */
const FINISHED: readonly LeadStatus[] = ["completed", "failed"];
const PAGE = 200;

export function createRetention(options: RetentionOptions): Retention {
  const { store, checkpointer, queue, eventLog, standIns, logger } = options;
  const clock = options.clock ?? (() => new Date());
  const intervalMs = options.intervalMs ?? 3_600_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<SweepReport> | undefined;

  /**
   * What lives outside the store first, the record last: a sweep cut short leaves the lead findable, and
   * the next sweep finishes it.
   */
  async function erase(leadId: string, when: { statuses: readonly LeadStatus[]; updatedBefore?: string }) {
    await checkpointer.deleteThread(leadId);
    await queue.remove(leadId);
    if (standIns?.isOpen) forgetLeadEffects(standIns, leadId);
    return store.deleteLead(leadId, when);
  }

  async function sweepOnce(): Promise<SweepReport> {
    if (!(options.completedDays > 0)) return { deleted: 0 };
    const cutoff = new Date(clock().getTime() - options.completedDays * DAY_MS);
    const before = cutoff.toISOString();
    let deleted = 0;
    for (;;) {
      const ids = await store.expiredLeads(before, PAGE);
      let progress = 0;
      for (const leadId of ids) {
        if (await erase(leadId, { statuses: ["completed"], updatedBefore: before })) progress += 1;
      }
      deleted += progress;
      // A page that deleted nothing (every lead changed meanwhile) would come back the same.
      if (ids.length < PAGE || progress === 0) break;
    }
    await eventLog.trimBefore(cutoff);
    if (deleted > 0) logger.info({ deleted, before }, "retention: completed leads deleted");
    return { deleted, before };
  }

  function sweep(): Promise<SweepReport> {
    running ??= sweepOnce().finally(() => {
      running = undefined;
    });
    return running;
  }

  function schedule(): void {
    timer = setTimeout(() => {
      sweep()
        .catch((err: unknown) => logger.warn({ err: String(err) }, "retention sweep failed"))
        .finally(() => {
          if (timer !== undefined) schedule();
        });
    }, intervalMs);
    timer.unref();
  }

  return {
    sweep,
    async start() {
      const report = await sweep().catch((err: unknown) => {
        logger.warn({ err: String(err) }, "retention sweep failed");
        return { deleted: 0 };
      });
      schedule();
      return report;
    },
    async stop() {
      clearTimeout(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
    async forget(leadId) {
      const lead = await store.getLead(leadId);
      if (!lead) return { ok: false, reason: "not_found" };
      if (!FINISHED.includes(lead.status)) return { ok: false, reason: "unfinished", status: lead.status };
      if (await erase(leadId, { statuses: FINISHED })) {
        logger.info({ leadId, status: lead.status }, "lead deleted by an admin");
        return { ok: true };
      }
      const now = await store.getLead(leadId);
      return now
        ? { ok: false, reason: "unfinished", status: now.status }
        : { ok: false, reason: "not_found" };
    },
  };
}
