/**
 * Nothing is stranded (ARCHITECTURE section 6): leads the store says are `queued`, `running` or `retrying`
 * whose job is not live (missing, failed for good, or finished without the lead) are requeued, or failed with
 * the job's own reason. This covers what no worker records: a BullMQ job failed for stalling too often, a
 * run whose final write to the store failed, a lead stored by intake whose enqueue never happened. Runs at
 * worker start and then every `intervalMs` in every worker process; its steps are idempotent, so several
 * processes may run it at once.
 */
import type { LeadRecord, LeadStatus, LeadStore } from "../store/lead-store.ts";
import { isLive, type JobQueue } from "../store/queue/job-queue.ts";
import type { Logger } from "../tools/ports.ts";

export interface ReconcilerOptions {
  store: LeadStore;
  queue: JobQueue;
  logger: Logger;
  /** Between passes. Default 60 s. */
  intervalMs?: number;
  /**
   * A lead that has started this many runs is failed rather than requeued once more: a lead whose job keeps
   * vanishing must not loop forever. Default 25.
   */
  maxLeadAttempts?: number;
}

export interface ReconcileReport {
  /** Leads looked at. */
  checked: number;
  requeued: string[];
  failed: string[];
}

export interface Reconciler {
  /** One pass over the unfinished leads. */
  reconcile(): Promise<ReconcileReport>;
  /** A pass now, then one every `intervalMs` until `stop`. */
  start(): Promise<ReconcileReport>;
  stop(): Promise<void>;
}

const UNFINISHED: LeadStatus[] = ["queued", "running", "retrying"];
const PAGE = 500;

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function createReconciler(options: ReconcilerOptions): Reconciler {
  const { store, queue, logger } = options;
  const intervalMs = options.intervalMs ?? 60_000;
  const maxLeadAttempts = options.maxLeadAttempts ?? 25;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<ReconcileReport> | undefined;

  async function settle(lead: LeadRecord, report: ReconcileReport): Promise<void> {
    const job = await queue.inspect(lead.leadId);
    if (job && isLive(job.state)) return;
    // Read again: the lead may have moved on since the page was listed (a run that just completed).
    const now = await store.getLead(lead.leadId);
    if (!now || now.status !== lead.status) return;
    const node = now.lastError?.node;
    if (job?.state === "failed" && now.status !== "queued") {
      await store.markFailed(lead.leadId, {
        ...(node ? { node } : {}),
        message: job.failedReason ?? now.lastError?.message ?? "its job failed",
      });
      report.failed.push(lead.leadId);
      logger.warn(
        { leadId: lead.leadId, reason: job.failedReason },
        "stranded lead failed: its job had failed",
      );
      return;
    }
    if (now.attempts >= maxLeadAttempts) {
      await store.markFailed(lead.leadId, {
        ...(node ? { node } : {}),
        message: `gave up after ${now.attempts} runs: its job kept disappearing${now.lastError ? ` (last error: ${now.lastError.message})` : ""}`,
      });
      report.failed.push(lead.leadId);
      logger.error({ leadId: lead.leadId, attempts: now.attempts }, "stranded lead failed: too many runs");
      return;
    }
    await queue.requeue(lead.leadId);
    report.requeued.push(lead.leadId);
    logger.warn(
      { leadId: lead.leadId, status: now.status, job: job?.state ?? "none" },
      "stranded lead requeued",
    );
  }

  async function pass(): Promise<ReconcileReport> {
    const report: ReconcileReport = { checked: 0, requeued: [], failed: [] };
    for (const status of UNFINISHED) {
      let cursor: string | undefined;
      do {
        const page = await store.listLeads({ status, limit: PAGE, ...(cursor ? { cursor } : {}) });
        for (const lead of page.leads) {
          report.checked += 1;
          try {
            await settle(lead, report);
          } catch (err) {
            // One lead the store or queue could not settle now is tried again on the next pass.
            logger.warn({ leadId: lead.leadId, err: messageOf(err) }, "could not reconcile lead");
          }
        }
        cursor = page.nextCursor;
      } while (cursor);
    }
    if (report.requeued.length + report.failed.length > 0)
      logger.info(
        { checked: report.checked, requeued: report.requeued.length, failed: report.failed.length },
        "reconciled stranded leads",
      );
    return report;
  }

  function reconcile(): Promise<ReconcileReport> {
    // One pass at a time per process: a slow pass is not overtaken by the next tick.
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  }

  return {
    reconcile,
    async start() {
      const first = await reconcile();
      timer ??= setInterval(() => {
        reconcile().catch((err: unknown) => logger.warn({ err: messageOf(err) }, "reconcile pass failed"));
      }, intervalMs);
      timer.unref();
      return first;
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
  };
}
