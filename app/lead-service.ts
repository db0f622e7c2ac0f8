/**
 * The one service object the HTTP host and the CLI call: accept a lead, find and list leads, retry failed
 * ones, preview routing, and report readiness. It holds the rules of intake (a 2xx means the lead is stored
 * and has a job; duplicates land on the first lead) so that no caller reaches into stores or queues.
 * Over 300 lines because it is the whole service contract in one place (types, interface, wiring); the
 * sources' own logic lives in app/sources/.
 */

import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { routeLabel } from "../domain/labels.ts";
import { type EventRules, parseEventRules } from "../domain/normalize/hubspot-event.ts";
import { normalizePayload } from "../domain/normalize/lead.ts";
import { buildOwnerMessage, type MessageBody } from "../domain/owner-message.ts";
import { checkAction, type OwnerAction, type OwnerResume, type Ownership } from "../domain/ownership.ts";
import type { LeadStateValues } from "../domain/snapshot.ts";
import { ownerDisplayName } from "../domain/summary.ts";
import type { LeadSource } from "../domain/types.ts";
import { type LeadGraph, previewLead } from "../graph/build.ts";
import type { GraphDeps } from "../nodes/deps.ts";
import { contactLink } from "../nodes/notify-owner.ts";
import type { LeadStore } from "../store/lead-store.ts";
import {
  type LeadPage,
  type LeadRecord,
  type LeadStatus,
  type ListLeadsOptions,
  MAX_LIST_LIMIT,
} from "../store/lead-store.ts";
import { isLive, type JobQueue, type PauseState } from "../store/queue/job-queue.ts";
import type { RedisClient } from "../store/redis-client.ts";
import { timeOrderedId } from "../tools/ids.ts";
import type { Logger } from "../tools/ports.ts";
import { idempotencyKeyOf } from "./idempotency.ts";
import { checkIntake } from "./intake.ts";
import type { LiveEvents, LiveStream, OpenStreamOptions } from "./live-events.ts";
import { checkPayloadLimits } from "./payload-limits.ts";
import { computeReports, lastDays, type Prices, type Reports, readReportLeads } from "./reports.ts";
import type { ForgetResult, Retention, SweepReport } from "./retention.ts";
import type { RoutingAdmin } from "./routing-admin.ts";
import { acceptEach, type BatchOutcome, type ItemResult, wholeBatch } from "./sources/batch.ts";
import { type ImportOptions, type ImportReport, importCsv } from "./sources/csv-import.ts";
import type { AcceptResult, Delivery, Refusal } from "./sources/delivery.ts";
import { acceptHubspotEvents, type EventResult } from "./sources/hubspot-events.ts";

export type { MessageBody } from "../domain/owner-message.ts";
export type {
  DeclineReason,
  Handoff,
  OwnerAction,
  OwnerActionKind,
  Ownership,
  OwnershipStatus,
  ReviewActionKind,
} from "../domain/ownership.ts";
export { ALL_ACTIONS, DECLINE_REASONS } from "../domain/ownership.ts";
export { InvalidEventIdError } from "../store/event-log.ts";
export type {
  LeadFacets,
  LeadPage,
  LeadRecord,
  LeadStatus,
  ListLeadsOptions,
  TimelineEntry,
} from "../store/lead-store.ts";
export { InvalidCursorError, LEAD_STATUSES, MAX_LIST_LIMIT } from "../store/lead-store.ts";
export type { PauseState } from "../store/queue/job-queue.ts";
export type { LiveEvent, LiveStream } from "./live-events.ts";
export type { ReportSection, Reports } from "./reports.ts";
export type { BatchOutcome, ItemResult } from "./sources/batch.ts";
export type { ImportOptions, ImportProblem, ImportReport } from "./sources/csv-import.ts";
export type { AcceptResult, Delivery, Refusal } from "./sources/delivery.ts";
export type { EventResult } from "./sources/hubspot-events.ts";

/** The store or queue did not answer: the caller should try the same thing again later. */
export class ServiceUnavailableError extends Error {
  override readonly name = "ServiceUnavailableError";
  readonly code = "unavailable";
}

export type RetryResult =
  | { ok: true; leadId: string; node?: string }
  | { ok: false; reason: "not_found" }
  /** Completed: nothing to retry. */
  | { ok: false; reason: "not_failed"; status: LeadStatus }
  /** Queued or running with a live job: it runs (or is running) without help. */
  | { ok: false; reason: "in_progress"; status: LeadStatus }
  /** Delivered and waiting for its owner, a reviewer or its SLA timer: an action moves it, not a retry. */
  | { ok: false; reason: "awaiting"; status: LeadStatus };

/**
 * An owner's, reviewer's or admin's action on a waiting lead: queued (the resume runs on the queue, so the
 * caller, Slack among them, is answered at once), or why not. `field` names the part of the action at fault.
 */
export type ActResult =
  | { ok: true; queued: true }
  | {
      ok: false;
      /** not_holder: a Slack click on an owner's lead by someone other than that owner. */
      code: "not_found" | "not_awaiting" | "invalid" | "not_holder";
      message: string;
      field?: string;
    };

/** The ownership a lead's record carries once it has waited for someone (`result.ownership`). */
export function ownershipOf(lead: Pick<LeadRecord, "result">): Ownership | undefined {
  const ownership = lead.result?.ownership;
  return typeof ownership === "object" && ownership !== null ? (ownership as Ownership) : undefined;
}

export type PreviewResult =
  | {
      ok: true;
      owner: string;
      ownerId?: string;
      queue?: string;
      pool?: string;
      rule?: string;
      kind?: string;
      explanation: string[];
      path?: string;
      score?: { value: number; tier: string; ruleScore: number; reasons: unknown[] };
      warnings: unknown[];
    }
  | Refusal;

export interface LeadService {
  readonly profile: string;
  /**
   * Where the host keeps per-client rate-limit counts so that a limit holds across instances: the Redis
   * profile's connection. Absent in the embedded profile, where the counts live in the process.
   */
  readonly rateLimitRedis?: RedisClient;
  /** Stores and enqueues a lead, or finds the lead an earlier delivery of it created. */
  accept(delivery: Delivery, log?: Logger): Promise<AcceptResult>;
  /** Each delivery on its own, in order, one result per item; throws ServiceUnavailableError as `accept`. */
  acceptBatch(deliveries: Delivery[], log?: Logger): Promise<BatchOutcome<ItemResult>>;
  /** A HubSpot app webhook event batch: one result per event, the ones that make no lead marked ignored. */
  acceptHubspotEvents(events: unknown[], log?: Logger): Promise<BatchOutcome<EventResult>>;
  /** A CSV list import (or its dry run): each row a lead on the queue's bulk lane (app/sources/csv-import.ts). */
  importCsv(text: string, options?: ImportOptions, log?: Logger): Promise<ImportReport>;
  getLead(leadId: string): Promise<LeadRecord | null>;
  /** Newest first; throws InvalidCursorError for a cursor this store did not hand out. */
  listLeads(options: ListLeadsOptions): Promise<LeadPage>;
  /**
   * A failed, retrying or stranded (queued or running without a live job) lead back on the queue at once;
   * its run resumes at the node that failed.
   */
  retry(leadId: string): Promise<RetryResult>;
  /**
   * An action on a lead that waits for its owner (accept, reassign, decline) or a reviewer (approve, route,
   * nurture): checked, then queued as the resume of the lead's wait; the first action (or SLA timer) of a
   * wait decides it and later ones change nothing.
   */
  act(leadId: string, action: OwnerAction): Promise<ActResult>;
  /** Every failed lead back on the queue, up to `limit`; returns their ids. */
  retryFailed(limit: number): Promise<string[]>;
  /** Deletes a finished (completed or failed) lead and all kept for it (app/retention.ts). */
  deleteLead(leadId: string): Promise<ForgetResult>;
  /** One retention sweep now (completed leads past RETENTION_COMPLETED_DAYS). */
  sweepRetention(): Promise<SweepReport>;
  /** Who would get this lead and why; nothing is sent, stored or counted. */
  preview(body: unknown, source?: LeadSource, options?: { llm?: boolean }): Promise<PreviewResult>;
  /** The lead store answers. */
  ready(): Promise<{ ready: boolean; profile: string; store: string }>;
  /** The RevOps files in force, their history, and what-if replays of recent leads (app/routing-admin.ts). */
  readonly routing: RoutingAdmin;
  /** Jobs waiting, delayed or running. */
  queueDepth(): Promise<number>;
  /** The owner's message as it was built for them, from the lead's last checkpoint; null when none was sent. */
  ownerMessage(leadId: string): Promise<MessageBody | null>;
  /** Holds every worker in every process (intake goes on storing leads); survives restarts. */
  pause(by?: string): Promise<PauseState>;
  resume(by?: string): Promise<PauseState>;
  processing(): Promise<PauseState>;
  /** Live events from every process; throws InvalidEventIdError for a forged `afterId`. */
  openEvents(options: OpenStreamOptions): Promise<LiveStream>;
  /** Reports over the leads received in the last `days` UTC days (today included). */
  reports(days: number): Promise<Reports>;
  /** The owner ids of routing.json in force (the bounded label set of per-owner metrics). */
  ownerIds(): string[];
}

/** How long a duplicate waits for the first delivery of its lead to finish storing it. */
const CLAIM_WAIT_MS = 2000;

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What the service runs on; the runtime (app/runtime.ts) supplies it. */
export interface LeadServiceBackend {
  profile: string;
  store: LeadStore;
  queue: JobQueue;
  deps: GraphDeps;
  logger: Logger;
  /** Which HubSpot contact property changes make a lead; default: lifecyclestage becoming an MQL. */
  hubspotEventRules?: EventRules;
  routing: RoutingAdmin;
  retention: Retention;
  /** The Redis profile's connection, for the host's rate-limit counts. */
  redis?: RedisClient;
  events: LiveEvents;
  /** The compiled graph, for reading a lead's last checkpoint. */
  graph: LeadGraph;
  /** LLM prices for the reports' cost figures. */
  prices: Prices;
}

/** A contact becoming a marketing-qualified lead is the lead; other changes are not. */
export const DEFAULT_HUBSPOT_EVENT_PROPERTIES = "lifecyclestage=marketingqualifiedlead";

export function createLeadService(backend: LeadServiceBackend): LeadService {
  const { store, queue, deps, profile, events } = backend;
  const baseLog = backend.logger;

  /**
   * A Slack click on a lead that waits for its owner counts only from that owner: their message may sit in
   * a channel others read (owner.slackChannel), and a forwarded DM is a link away. Null when the click
   * may go on; the refusal otherwise. Without a notifier that knows Slack users, or an owner Slack does
   * not know (their message went to a channel), there is nobody to compare with, and the click goes on.
   */
  async function slackClickerCheck(action: OwnerAction, ownership: Ownership): Promise<ActResult | null> {
    if (action.via !== "slack" || ownership.waitingFor === "review" || !deps.notifier.userIdOf) return null;
    const holder = deps.routing().owners.find((o) => o.id === ownership.ownerId);
    if (!holder) return null;
    let userId: string | null;
    try {
      userId = await deps.notifier.userIdOf(holder.email);
    } catch (err) {
      baseLog.warn({ ownerId: holder.id, err: messageOf(err) }, "slack user lookup failed");
      throw new ServiceUnavailableError("Slack could not say who holds this lead; try again");
    }
    if (userId === null || userId === action.by) return null;
    return {
      ok: false,
      code: "not_holder",
      message: `only ${holder.name} can accept, reassign or decline this lead in Slack; an admin can act from the console`,
    };
  }
  const defaultRules = parseEventRules(DEFAULT_HUBSPOT_EVENT_PROPERTIES) as EventRules;
  const eventRules = backend.hubspotEventRules ?? defaultRules;

  /** The record the claim points at; a first delivery still being stored gets a moment to finish. */
  async function claimedLead(leadId: string): Promise<LeadRecord | null> {
    const deadline = Date.now() + CLAIM_WAIT_MS;
    for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
      const lead = await store.getLead(leadId);
      if (lead || Date.now() >= deadline) return lead;
      await sleep(wait);
    }
  }

  /** The lead a duplicate delivery's key points at, made sure to have a job. */
  async function duplicateOf(key: string, leadId: string, log: Logger): Promise<LeadRecord> {
    let lead: LeadRecord | null;
    try {
      lead = await claimedLead(leadId);
    } catch (err) {
      log.error({ leadId, err: messageOf(err) }, "could not read the claimed lead");
      throw new ServiceUnavailableError("lead intake is temporarily unavailable; retry later");
    }
    if (!lead) {
      // The delivery that claimed the key never stored its lead (it died in between): free the key so
      // this sender's retry can store it, and make sure it retries.
      await store.releaseIdempotencyKey(key, leadId).catch(() => undefined);
      log.warn({ leadId }, "stale idempotency claim released");
      throw new ServiceUnavailableError("an earlier delivery of this lead did not complete; retry");
    }
    if (lead.status === "queued") {
      // The first delivery may have stored the lead and died before enqueueing it; one job per lead
      // either way, since the job id is the lead id.
      try {
        await queue.enqueue(leadId, { reassert: true });
      } catch (err) {
        log.error({ leadId, err: messageOf(err) }, "enqueue of duplicate's lead failed");
        throw new ServiceUnavailableError("lead intake is temporarily unavailable; retry later");
      }
    }
    log.info({ leadId, status: lead.status }, "duplicate delivery");
    return lead;
  }

  async function accept(delivery: Delivery, log: Logger = baseLog): Promise<AcceptResult> {
    // Before anything walks the body recursively: a too-deep body must be the sender's 4xx, not our 503.
    const limits = checkPayloadLimits(delivery.body);
    if (!limits.ok) return limits;
    const intake = checkIntake(delivery.body, delivery.source);
    if (!intake.ok) return intake;
    const key = idempotencyKeyOf(delivery.idempotencyKey, delivery.body, intake.keyInputs);
    const leadId = timeOrderedId();

    let claim: Awaited<ReturnType<typeof store.claimIdempotencyKey>>;
    try {
      claim = await store.claimIdempotencyKey(key, leadId);
    } catch (err) {
      log.error({ leadId, err: messageOf(err) }, "idempotency claim failed");
      throw new ServiceUnavailableError("lead intake is temporarily unavailable; retry later");
    }
    if (!claim.claimed) {
      const lead = await duplicateOf(key, claim.leadId, log);
      return { ok: true, duplicate: true, leadId: claim.leadId, status: lead.status, source: intake.source };
    }

    const receivedAt = new Date().toISOString();
    try {
      await store.createLead({
        leadId,
        source: intake.source,
        receivedAt,
        idempotencyKey: key,
        payload: delivery.body,
        ...(intake.facets ? { facets: intake.facets } : {}),
      });
    } catch (err) {
      log.error({ leadId, err: messageOf(err) }, "storing the lead failed");
      await store.releaseIdempotencyKey(key, leadId).catch((releaseErr: unknown) => {
        // The claim then expires with its TTL; until then the sender's retries get 503 and a release.
        log.error({ leadId, err: messageOf(releaseErr) }, "releasing the idempotency claim failed");
      });
      throw new ServiceUnavailableError("lead intake is temporarily unavailable; retry later");
    }

    try {
      await queue.enqueue(leadId, { lane: delivery.lane ?? "live" });
    } catch (err) {
      // The lead is stored as queued: the sender's retry (a duplicate) enqueues it, and so does the next
      // worker start.
      log.error({ leadId, err: messageOf(err) }, "enqueue failed");
      throw new ServiceUnavailableError("lead intake is temporarily unavailable; retry later");
    }
    const { company, channel } = intake.facets ?? {};
    events.publish({
      type: "lead.received",
      leadId,
      at: receivedAt,
      source: intake.source,
      ...(company ? { company } : {}),
      ...(channel ? { channel } : {}),
    });
    return { ok: true, duplicate: false, leadId, status: "queued", source: intake.source };
  }

  /** Back to queued, and its job back in the queue (a backoff it was waiting out is cut short). */
  async function requeue(lead: LeadRecord): Promise<void> {
    await store.markQueued(lead.leadId);
    try {
      // The run an admin asks for probes a vendor whose circuit is open, instead of failing fast on it.
      await queue.requeue(lead.leadId, { probe: true });
    } catch (err) {
      // Back to failed rather than queued without a job, so the admin can retry again.
      await store
        .markFailed(lead.leadId, lead.lastError ?? { message: "retry could not be queued" })
        .catch(() => undefined);
      baseLog.error({ leadId: lead.leadId, err: messageOf(err) }, "requeue failed");
      throw new ServiceUnavailableError("the queue is unreachable; retry later");
    }
  }

  return {
    profile,
    routing: backend.routing,
    ...(backend.redis ? { rateLimitRedis: backend.redis } : {}),
    accept,
    acceptBatch: (deliveries, log) =>
      wholeBatch(
        deliveries.map((d) => d.body),
        () => acceptEach((d) => accept(d, log), deliveries),
      ),
    acceptHubspotEvents: (events, log) =>
      wholeBatch(events, () => acceptHubspotEvents((d) => accept(d, log), events, eventRules)),
    importCsv: (text, importOptions, log) => importCsv((d) => accept(d, log), text, importOptions),
    getLead: (leadId) => store.getLead(leadId),
    listLeads: (listOptions) => store.listLeads(listOptions),

    async retry(leadId) {
      const lead = await store.getLead(leadId);
      if (!lead) return { ok: false, reason: "not_found" };
      if (lead.status === "completed") return { ok: false, reason: "not_failed", status: lead.status };
      if (lead.status === "awaiting") return { ok: false, reason: "awaiting", status: lead.status };
      if (lead.status === "queued" || lead.status === "running") {
        const job = await queue.inspect(leadId).catch((err: unknown) => {
          baseLog.error({ leadId, err: messageOf(err) }, "queue unreachable");
          throw new ServiceUnavailableError("the queue is unreachable; retry later");
        });
        if (job && isLive(job.state)) return { ok: false, reason: "in_progress", status: lead.status };
      }
      await requeue(lead);
      baseLog.info({ leadId, node: lead.lastError?.node }, "lead retry queued");
      return { ok: true, leadId, ...(lead.lastError?.node ? { node: lead.lastError.node } : {}) };
    },

    async act(leadId, action) {
      const lead = await store.getLead(leadId).catch((err: unknown) => {
        baseLog.error({ leadId, err: messageOf(err) }, "lead store unreachable");
        throw new ServiceUnavailableError("the lead store is unreachable; retry later");
      });
      if (!lead) return { ok: false, code: "not_found", message: `lead ${leadId} not found` };
      const ownership = ownershipOf(lead);
      if (lead.status !== "awaiting" || ownership?.status !== "awaiting") {
        const decided = ownership?.decidedBy ? ` (${ownership.status} by ${ownership.decidedBy})` : "";
        return {
          ok: false,
          code: "not_awaiting",
          message: `lead is ${lead.status}${decided}: it waits for no decision`,
        };
      }
      const check = checkAction(action, ownership.waitingFor ?? "owner");
      if (!check.ok)
        return {
          ok: false,
          code: "invalid",
          message: check.message,
          ...(check.field ? { field: check.field } : {}),
        };
      if (check.action.action === "approve" && !lead.result?.ownerId)
        return {
          ok: false,
          code: "invalid",
          field: "action",
          message: "approve: the lead has no routed owner (a fallback lead); route it to someone with to",
        };
      const to = check.action.to;
      if (to !== undefined && !deps.routing().owners.some((o) => o.id === to))
        return { ok: false, code: "invalid", field: "to", message: `to: routing.json has no owner "${to}"` };
      const notHolder = await slackClickerCheck(check.action, ownership);
      if (notHolder) return notHolder;
      const round = ownership.round ?? 0;
      const value: OwnerResume = {
        type: "action",
        round,
        action: check.action,
        at: new Date().toISOString(),
      };
      try {
        // One job per wait: a double click finds the first one queued and adds nothing.
        await queue.enqueueResume({ leadId, jobId: `act:${leadId}:${round}`, value });
      } catch (err) {
        baseLog.error({ leadId, err: messageOf(err) }, "queueing an action failed");
        throw new ServiceUnavailableError("the queue is unreachable; retry later");
      }
      baseLog.info({ leadId, action: check.action.action, via: check.action.via, round }, "action queued");
      return { ok: true, queued: true };
    },

    async retryFailed(limit) {
      const leadIds: string[] = [];
      let cursor: string | undefined;
      // Cursor paging stays valid while retried leads leave the failed set: positions are (receivedAt, id).
      do {
        const page = await store.listLeads({
          status: "failed",
          limit: Math.min(MAX_LIST_LIMIT, limit - leadIds.length),
          ...(cursor ? { cursor } : {}),
        });
        for (const lead of page.leads) {
          await requeue(lead);
          leadIds.push(lead.leadId);
        }
        cursor = page.nextCursor;
      } while (cursor && leadIds.length < limit);
      baseLog.info({ retried: leadIds.length }, "failed leads retried");
      return leadIds;
    },

    deleteLead: (leadId) => backend.retention.forget(leadId),
    sweepRetention: () => backend.retention.sweep(),

    async preview(body, source, previewOptions = {}) {
      const limits = checkPayloadLimits(body);
      if (!limits.ok) return limits;
      const parsed = normalizePayload(body, source);
      if (!parsed.ok) return parsed;
      const state = await previewLead(
        deps,
        {
          leadId: `preview-${randomUUID()}`,
          receivedAt: new Date().toISOString(),
          raw: body,
          ...(source ? { source } : {}),
        },
        previewOptions,
      );
      const { route, score } = state;
      return {
        ok: true,
        owner: routeLabel(route),
        ...(route?.ownerId ? { ownerId: route.ownerId } : {}),
        ...(route?.queue ? { queue: route.queue } : {}),
        ...(route?.pool ? { pool: route.pool } : {}),
        ...(route ? { rule: route.ruleName, kind: route.kind } : {}),
        explanation: route?.explanation ?? [],
        ...(state.path ? { path: state.path } : {}),
        ...(score
          ? {
              score: {
                value: score.value,
                tier: score.tier,
                ruleScore: score.ruleScore,
                reasons: score.reasons,
              },
            }
          : {}),
        warnings: state.warnings,
      };
    },

    async ready() {
      return { ready: await store.ping(), profile, store: store.name };
    },

    queueDepth: () => queue.depth(),

    async ownerMessage(leadId) {
      const snapshot = await backend.graph.getState({ configurable: { thread_id: leadId } });
      const state = snapshot.values as (Partial<LeadStateValues> & { leadId?: string }) | undefined;
      if (!state?.lead || !state.route || (state.notifications ?? []).length === 0) return null;
      const lead = { ...state, leadId, similarAccounts: state.similarAccounts ?? [] };
      const routing = deps.routing();
      return buildOwnerMessage(lead, {
        ownerName: ownerDisplayName(lead, routing),
        routing,
        ...contactLink(deps, { ...lead, crm: state.crm ?? {} }),
      });
    },

    async pause(by) {
      await queue.pause();
      const state = await queue.pauseState();
      events.publish({
        type: "processing.paused",
        at: state.since ?? new Date().toISOString(),
        ...(by ? { by } : {}),
      });
      baseLog.warn({ by }, "processing paused: leads are stored and held until resumed");
      return state;
    },

    async resume(by) {
      await queue.resume();
      events.publish({ type: "processing.resumed", at: new Date().toISOString(), ...(by ? { by } : {}) });
      baseLog.info({ by }, "processing resumed");
      return queue.pauseState();
    },

    processing: () => queue.pauseState(),

    openEvents: (options) => events.open(options),

    async reports(days) {
      const { from, to } = lastDays(days);
      const { leads, truncated } = await readReportLeads(store, from, to);
      return computeReports(leads, { from, to, routing: deps.routing(), prices: backend.prices, truncated });
    },

    ownerIds: () => deps.routing().owners.map((o) => o.id),
  };
}
