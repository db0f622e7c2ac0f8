/**
 * The `LeadStore` port (docs/architecture.md, "Ports and adapters"): lead records, idempotency keys, round-robin counters and
 * the side-effect ledger, with one adapter per backend (SQLite embedded, Redis). Also holds what both
 * adapters must agree on byte for byte: the list cursor and the leased `once` protocol.
 *
 * Over 300 lines because it is the port plus what both adapters must agree on byte for byte (records, cursor, leased `once`); splitting it would scatter one contract.
 */
import { createHash, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Counters, RouteMemory, TimelineEntry } from "../domain/types.ts";

export type { TimelineEntry } from "../domain/types.ts";

import type { EffectAttempt, Ledger } from "../tools/ports.ts";

// ---------------------------------------------------------------- Records

/**
 * queued: waiting for its first run (or put back by an admin retry); running: a worker has it; retrying: its
 * last run failed and the queue runs it again at `nextAttemptAt`; awaiting: delivered, and waiting in the
 * graph for its owner's (or a reviewer's) decision or its SLA timer (settled: nothing to requeue);
 * completed; failed: no more automatic runs.
 */
export const LEAD_STATUSES = ["queued", "running", "retrying", "awaiting", "completed", "failed"] as const;
export type LeadStatus = (typeof LEAD_STATUSES)[number];

/** Why the lead's last attempt failed; cleared when the lead completes (its timeline keeps the failed steps). */
export interface LeadError {
  /** Graph node that failed, when known. */
  node?: string;
  message: string;
  /** The innermost error under the message (a vendor's own answer), when it says more. */
  cause?: string;
  /** ISO timestamp, set by the store. */
  at: string;
}

/**
 * What a lead is found, filtered and reported by: set at intake from what the webhook checked (email,
 * company, channel) and replaced by the runner's fuller view when a run ends. The store indexes them
 * (`facetTerms`); everything else about a lead stays opaque to it.
 */
export interface LeadFacets {
  /** Normalised email (personal data: views mask it for viewers; indexes hold only its hash). */
  email?: string;
  company?: string;
  /** Registrable company domain. */
  domain?: string;
  emailDomain?: string;
  /** The lead's channel, lower case ("web", "partner", ...). */
  channel?: string;
  ownerId?: string;
  pool?: string;
  queue?: string;
  rule?: string;
  path?: string;
  tier?: string;
  /** ISO time the owner or queue was first notified (speed to lead). */
  notifiedAt?: string;
  /** The owner loop: ms from the accepting owner being told to their Accept. */
  acceptMs?: number;
  /** The owners whose acceptance SLA ran out on this lead, once per breach. */
  slaBreachedBy?: string[];
  /** Hand-offs from one holder to another. */
  handoffs?: number;
  /** LLM calls made for the lead and their tokens. */
  llm?: { calls: number; promptTokens: number; completionTokens: number };
}

export interface LeadRecord {
  leadId: string;
  status: LeadStatus;
  /** Payload shape or channel the lead arrived through. */
  source?: string;
  /** ISO timestamp of intake; the list order. */
  receivedAt: string;
  /** ISO timestamp of the last change. */
  updatedAt: string;
  /** Runs started (first run and retries). */
  attempts: number;
  lastError?: LeadError;
  /** ISO time of the queue's next run of a `retrying` lead; absent in every other status. */
  nextAttemptAt?: string;
  idempotencyKey?: string;
  /** The payload exactly as received (JSON). */
  payload: unknown;
  /** JSON summary of the final state (score, tier, owner, ruleName, path, reasons, ...); opaque here. */
  result?: Record<string, unknown>;
  /** Steps in the order they were appended. */
  timeline: TimelineEntry[];
  /** Search and report fields (empty for leads stored before they existed). */
  facets: LeadFacets;
}

/** A lead record without its timeline. */
export type LeadSummary = Omit<LeadRecord, "timeline">;

/** What intake knows when it persists a lead. */
export interface NewLead {
  leadId: string;
  source?: string;
  receivedAt: string;
  idempotencyKey?: string;
  payload: unknown;
  facets?: LeadFacets;
}

export interface ListLeadsOptions {
  status?: LeadStatus;
  /**
   * Free text: every word must match the lead's email (whole address), domain (company or email), a
   * word of its company name, or its owner id. Case-insensitive.
   */
  q?: string;
  path?: string;
  ownerId?: string;
  /** How the lead arrived (`LeadRecord.source`). */
  source?: string;
  channel?: string;
  /** Received at or after (ISO). */
  from?: string;
  /** Received before (ISO). */
  to?: string;
  /** Page size, 1..500; default 50. */
  limit?: number;
  /** `nextCursor` from the previous page. */
  cursor?: string;
}

export interface LeadPage {
  /** Newest first (by `receivedAt`, then `leadId` descending). */
  leads: LeadRecord[];
  /** Absent on the last page. */
  nextCursor?: string;
}

/** Which leads `deleteLead` may delete. */
export interface DeleteWhen {
  statuses: readonly LeadStatus[];
  /** ISO time: only a lead whose `updatedAt` is at or before it. */
  updatedBefore?: string;
}

export type IdempotencyClaim = { claimed: true } | { claimed: false; leadId: string };

export type StatusCounts = Record<LeadStatus, number>;

/** 72 hours: longer than any webhook sender keeps retrying. */
export const DEFAULT_IDEMPOTENCY_TTL_SECONDS = 72 * 3600;

export interface LeadStore {
  /** "sqlite" or "redis", for the startup log line. */
  readonly name: string;
  /** Round-robin and daily-cap counters, atomic across processes sharing the store. */
  readonly counters: Counters;
  /** Exactly-once side effects, across processes sharing the store. */
  readonly ledger: Ledger;
  /** Who each person was last routed to, for the returning-lead window. */
  readonly routeMemory: RouteMemory;

  /** Persists a new lead as `queued` with 0 attempts; throws `LeadExistsError` if the id is taken. */
  createLead(lead: NewLead): Promise<void>;
  /** Atomically claims `key` for `leadId` unless an unexpired claim exists, in which case it names its lead. */
  claimIdempotencyKey(key: string, leadId: string, ttlSeconds?: number): Promise<IdempotencyClaim>;
  /** Frees `key` if `leadId` still holds it (persisting the lead failed after the claim). */
  releaseIdempotencyKey(key: string, leadId: string): Promise<void>;

  getLead(leadId: string): Promise<LeadRecord | null>;
  /** Throws `InvalidCursorError` for a cursor this store did not produce. */
  listLeads(options?: ListLeadsOptions): Promise<LeadPage>;
  countByStatus(): Promise<StatusCounts>;

  // The status setters below throw `LeadNotFoundError` for an unknown id. They do not police transitions:
  // the runner owns the lifecycle (queued -> running -> completed | awaiting | retrying | failed;
  // retrying -> running; awaiting -> running (a decision or a timer resumes it);
  // failed, retrying or a stranded running/queued -> queued on an admin retry). Every change but to
  // `retrying` clears `nextAttemptAt`; completion clears `lastError`.
  /** Back to `queued` (admin retry). */
  markQueued(leadId: string): Promise<void>;
  /** `running`, and one more attempt. */
  markRunning(leadId: string): Promise<void>;
  /**
   * Starts a run in one atomic step: unless the lead is completed or awaiting, marks it `running` with one more attempt
   * (as `markRunning`). Returns the lead as it was before, without its timeline; null for an unknown id.
   */
  beginAttempt(leadId: string): Promise<LeadSummary | null>;
  /** `facets`, when given, replace the stored ones (and the lead's index entries). */
  markCompleted(leadId: string, result: Record<string, unknown>, facets?: LeadFacets): Promise<void>;
  /** `awaiting`: delivered and waiting for a person or a timer; `result` as far as it goes (with `ownership`). */
  markAwaiting(leadId: string, result: Record<string, unknown>, facets?: LeadFacets): Promise<void>;
  markFailed(leadId: string, error: Omit<LeadError, "at">, facets?: LeadFacets): Promise<void>;
  /** `retrying`: the run failed with `error` and the queue runs it again at `nextAttemptAt` (ISO). */
  markRetrying(
    leadId: string,
    error: Omit<LeadError, "at">,
    nextAttemptAt: string,
    facets?: LeadFacets,
  ): Promise<void>;
  appendTimeline(leadId: string, entry: TimelineEntry): Promise<void>;

  // Retention (app/retention.ts).
  /** Completed leads last changed at or before `before` (ISO), oldest received first, at most `limit`. */
  expiredLeads(before: string, limit: number): Promise<string[]>;
  /**
   * Deletes the lead and all the store keeps for it, in one atomic step: record, timeline, search index
   * entries, ledger (every `<leadId>:…` effect), its idempotency key and the person's route memory while they
   * still name it. Only when the lead's status is one of `when.statuses` and, with `when.updatedBefore` (ISO),
   * it last changed at or before then. False when it is unknown or does not qualify.
   */
  deleteLead(leadId: string, when: DeleteWhen): Promise<boolean>;

  /** Readiness: true when the backend answers; never throws. */
  ping(): Promise<boolean>;
  /** Releases what the store opened itself; a connection or database passed in stays open. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------- Errors

export class LeadNotFoundError extends Error {
  override readonly name = "LeadNotFoundError";
  readonly code = "lead_not_found";
  readonly leadId: string;
  constructor(leadId: string) {
    super(`lead ${leadId} not found`);
    this.leadId = leadId;
  }
}

export class LeadExistsError extends Error {
  override readonly name = "LeadExistsError";
  readonly code = "lead_exists";
  readonly leadId: string;
  constructor(leadId: string) {
    super(`lead ${leadId} already exists`);
    this.leadId = leadId;
  }
}

export class InvalidCursorError extends Error {
  override readonly name = "InvalidCursorError";
  readonly code = "invalid_cursor";
  constructor() {
    super("invalid list cursor");
  }
}

// ---------------------------------------------------------------- Helpers shared by the adapters

export const DEFAULT_LIST_LIMIT = 50;
export const MAX_LIST_LIMIT = 500;

export function listLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`limit must be a positive integer, got ${limit}`);
  return Math.min(limit, MAX_LIST_LIMIT);
}

/** The sort key; rejecting a bad timestamp here keeps NaN out of indexes. */
export function receivedAtMs(receivedAt: string): number {
  const ms = Date.parse(receivedAt);
  if (!Number.isFinite(ms)) throw new RangeError(`receivedAt is not a timestamp: ${receivedAt}`);
  return ms;
}

export function ttlMs(ttlSeconds: number): number {
  if (!(ttlSeconds > 0) || !Number.isFinite(ttlSeconds)) {
    throw new RangeError(`ttlSeconds must be positive, got ${ttlSeconds}`);
  }
  return Math.max(1, Math.round(ttlSeconds * 1000));
}

/** Position after the last lead of a page; leads are ordered by (receivedAtMs desc, leadId desc). */
export interface ListPosition {
  ms: number;
  leadId: string;
}

export function encodeCursor(position: ListPosition): string {
  return Buffer.from(JSON.stringify([position.ms, position.leadId])).toString("base64url");
}

export function decodeCursor(cursor: string): ListPosition {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(parsed) && parsed.length === 2) {
      const [ms, leadId] = parsed as [unknown, unknown];
      if (typeof ms === "number" && Number.isFinite(ms) && typeof leadId === "string") return { ms, leadId };
    }
  } catch {
    // falls through to the typed error
  }
  throw new InvalidCursorError();
}

/** Byte order, as SQLite's BINARY collation and Redis sorted sets compare members; `<` on JS strings does not. */
export function compareIds(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

export function withDuration(entry: TimelineEntry): TimelineEntry {
  if (entry.durationMs !== undefined || entry.endedAt === undefined) return entry;
  const durationMs = Date.parse(entry.endedAt) - Date.parse(entry.startedAt);
  return Number.isFinite(durationMs) ? { ...entry, durationMs } : entry;
}

export function emptyCounts(): StatusCounts {
  return { queued: 0, running: 0, retrying: 0, awaiting: 0, completed: 0, failed: 0 };
}

// ---------------------------------------------------------------- Search terms

/** Emails become index keys only as this hash. */
export function emailTerm(email: string): string {
  return `e:${createHash("sha256").update(email.trim().toLowerCase()).digest("hex").slice(0, 32)}`;
}

/** Words of a company name as the index keeps them: lower case letters and digits, two or more. */
export function companyWords(company: string): string[] {
  const words = company
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length >= 2);
  return [...new Set(words)].slice(0, 12);
}

/** Index terms never hold whitespace (the Redis store keeps them space-separated). */
function clean(value: string): string {
  return value.trim().toLowerCase().replace(/\s+/g, "_").slice(0, 200);
}

/** The index terms of a lead: what `ListLeadsOptions` can find it by. */
export function facetTerms(facets: LeadFacets, source: string | undefined): string[] {
  const terms = new Set<string>();
  if (facets.email) terms.add(emailTerm(facets.email));
  if (facets.domain) terms.add(`d:${clean(facets.domain)}`);
  if (facets.emailDomain) terms.add(`d:${clean(facets.emailDomain)}`);
  for (const word of companyWords(facets.company ?? "")) terms.add(`c:${word}`);
  if (facets.ownerId) terms.add(`o:${clean(facets.ownerId)}`);
  if (facets.path) terms.add(`p:${clean(facets.path)}`);
  if (facets.channel) terms.add(`ch:${clean(facets.channel)}`);
  if (source) terms.add(`s:${clean(source)}`);
  return [...terms];
}

/**
 * A query as groups of terms: a lead matches when, for every group, it has at least one of its terms.
 * Empty when the options filter on nothing but status and dates.
 */
export function queryTermGroups(options: ListLeadsOptions): string[][] {
  const groups: string[][] = [];
  for (const token of (options.q ?? "").trim().split(/\s+/).filter(Boolean).slice(0, 8)) {
    const lower = token.toLowerCase();
    if (lower.includes("@")) {
      groups.push([emailTerm(lower)]);
      continue;
    }
    const alternatives = new Set([`o:${clean(lower)}`]);
    if (lower.includes(".")) alternatives.add(`d:${clean(lower)}`);
    const word = lower.replace(/[^\p{L}\p{N}]+/gu, "");
    if (word.length >= 2) alternatives.add(`c:${word}`);
    groups.push([...alternatives]);
  }
  if (options.ownerId) groups.push([`o:${clean(options.ownerId)}`]);
  if (options.path) groups.push([`p:${clean(options.path)}`]);
  if (options.channel) groups.push([`ch:${clean(options.channel)}`]);
  if (options.source) groups.push([`s:${clean(options.source)}`]);
  return groups;
}

/** `from`/`to` as epoch ms bounds (inclusive lower, exclusive upper); RangeError on a bad timestamp. */
export function dateBounds(options: ListLeadsOptions): { fromMs?: number; toMs?: number } {
  const parse = (text: string, name: string) => {
    const ms = Date.parse(text);
    if (!Number.isFinite(ms)) throw new RangeError(`${name} is not a timestamp: ${text}`);
    return ms;
  };
  return {
    ...(options.from ? { fromMs: parse(options.from, "from") } : {}),
    ...(options.to ? { toMs: parse(options.to, "to") } : {}),
  };
}

// ---------------------------------------------------------------- Leased ledger

/**
 * The storage half of the ledger protocol. A key holds a result, or a claim (token + lease end), or
 * nothing. A claim outlives its holder: once its lease has ended (the holder's effect failed, or its worker
 * died) it stays as the mark of an attempt that may have taken effect, which the next claim reports as
 * `mayExist`. Results are JSON strings of `{ v: value }`, so an `undefined` result is still "done".
 */
export interface LedgerBackend {
  /** In one atomic step: the stored result if any, else a claim for `token` unless another claim's lease still runs. */
  claim(
    key: string,
    token: string,
    leaseMs: number,
  ): Promise<{ state: "done"; json: string } | { state: "claimed"; mayExist: boolean } | { state: "busy" }>;
  /** Stores `json` unless a result is already there, drops the claim, and returns the stored result. */
  commit(key: string, token: string, json: string): Promise<string>;
  /** Ends the lease if `token` still holds it, so a retry can claim the key at once (as an earlier attempt). */
  release(key: string, token: string): Promise<void>;
  /** Extends the lease if `token` still holds it. */
  renew(key: string, token: string, leaseMs: number): Promise<boolean>;
  read(key: string): Promise<string | undefined>;
}

/** The lead a ledger key belongs to (`<leadId>:<effect>`), and the effect's name within the lead. */
export function ledgerKeyParts(key: string): { leadId: string; effect: string } {
  const colon = key.indexOf(":");
  return colon < 0
    ? { leadId: key, effect: "" }
    : { leadId: key.slice(0, colon), effect: key.slice(colon + 1) };
}

export interface LeaseOptions {
  /** How long a claim survives a crashed holder; renewed every third of it while `fn` runs. Default 30 s. */
  leaseMs?: number;
  /** First wait between polls by a caller that lost the claim; grows to 250 ms. Default 10 ms. */
  pollMs?: number;
}

const MAX_POLL_MS = 250;

/**
 * `Ledger` over a `LedgerBackend`. A caller that finds the key claimed polls until a result appears or the
 * lease ends; in the latter case the holder's `fn` failed (or it crashed and its lease ran out) and the
 * caller claims the key and runs its own `fn` (told `mayExist`), which is the retry the holder could not do.
 */
export class LeasedLedger implements Ledger {
  readonly #backend: LedgerBackend;
  readonly #leaseMs: number;
  readonly #pollMs: number;

  constructor(backend: LedgerBackend, options: LeaseOptions = {}) {
    this.#backend = backend;
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.#pollMs = options.pollMs ?? 10;
  }

  async once<T>(key: string, fn: (attempt: EffectAttempt) => Promise<T>): Promise<T> {
    const token = randomUUID();
    let wait = this.#pollMs;
    for (;;) {
      const claim = await this.#backend.claim(key, token, this.#leaseMs);
      if (claim.state === "done") return unwrap<T>(claim.json);
      if (claim.state === "claimed") return this.#run(key, token, () => fn({ mayExist: claim.mayExist }));
      await sleep(wait);
      wait = Math.min(wait * 1.5, MAX_POLL_MS);
    }
  }

  async get<T>(key: string): Promise<T | undefined> {
    const json = await this.#backend.read(key);
    return json === undefined ? undefined : unwrap<T>(json);
  }

  async #run<T>(key: string, token: string, fn: () => Promise<T>): Promise<T> {
    // Without renewal an effect slower than the lease (Slack retries with backoff) would run twice.
    const heartbeat = setInterval(
      () => {
        this.#backend.renew(key, token, this.#leaseMs).catch(() => {
          // A missed renewal only matters if the lease runs out; the next tick tries again.
        });
      },
      Math.max(1, Math.floor(this.#leaseMs / 3)),
    );
    heartbeat.unref();
    let value: T;
    try {
      value = await fn();
    } catch (err) {
      clearInterval(heartbeat);
      // The caller needs fn's error, not the store's; an unreleased claim still ends with its lease.
      await this.#backend.release(key, token).catch(() => undefined);
      throw err;
    }
    clearInterval(heartbeat);
    // Every caller, this one included, gets the JSON round trip, so the first caller sees what later ones see.
    return unwrap<T>(await this.#backend.commit(key, token, JSON.stringify({ v: value })));
  }
}

function unwrap<T>(json: string): T {
  return (JSON.parse(json) as { v?: T }).v as T;
}
