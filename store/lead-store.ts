/**
 * The `LeadStore` port (docs/architecture.md, "Ports and adapters"): lead records, idempotency keys, round-robin counters and
 * the side-effect ledger, with one adapter per backend (SQLite embedded, Redis). Also holds what both
 * adapters must agree on byte for byte: the list cursor and the leased `once` protocol.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Counters, RouteMemory } from "../domain/types.ts";
import type { EffectAttempt, Ledger } from "../tools/ports.ts";

// ---------------------------------------------------------------- Records

export const LEAD_STATUSES = ["queued", "running", "completed", "failed"] as const;
export type LeadStatus = (typeof LEAD_STATUSES)[number];

/** Why the lead's last attempt failed; cleared when the lead completes (its timeline keeps the failed steps). */
export interface LeadError {
  /** Graph node that failed, when known. */
  node?: string;
  message: string;
  /** ISO timestamp, set by the store. */
  at: string;
}

/** One graph step, appended when the step ends. */
export interface TimelineEntry {
  /** Node id, e.g. "scoreLead". */
  node: string;
  /** ISO timestamp. */
  startedAt: string;
  /** ISO timestamp. */
  endedAt?: string;
  /** Filled in by the store from `startedAt`/`endedAt` when the caller leaves it out. */
  durationMs?: number;
  status: "ok" | "error";
  /** Error message when `status` is "error". */
  error?: string;
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
  idempotencyKey?: string;
  /** The payload exactly as received (JSON). */
  payload: unknown;
  /** JSON summary of the final state (score, tier, owner, ruleName, path, reasons, ...); opaque here. */
  result?: Record<string, unknown>;
  /** Steps in the order they were appended. */
  timeline: TimelineEntry[];
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
}

export interface ListLeadsOptions {
  status?: LeadStatus;
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
  // the runner owns the lifecycle (queued -> running -> completed | failed; failed -> queued on retry).
  /** Back to `queued` (admin retry). */
  markQueued(leadId: string): Promise<void>;
  /** `running`, and one more attempt. */
  markRunning(leadId: string): Promise<void>;
  /**
   * Starts a run in one atomic step: unless the lead is completed, marks it `running` with one more attempt
   * (as `markRunning`). Returns the lead as it was before, without its timeline; null for an unknown id.
   */
  beginAttempt(leadId: string): Promise<LeadSummary | null>;
  markCompleted(leadId: string, result: Record<string, unknown>): Promise<void>;
  markFailed(leadId: string, error: Omit<LeadError, "at">): Promise<void>;
  appendTimeline(leadId: string, entry: TimelineEntry): Promise<void>;

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
  return { queued: 0, running: 0, completed: 0, failed: 0 };
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
