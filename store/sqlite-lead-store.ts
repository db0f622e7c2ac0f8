/**
 * Over 300 lines because it is one adapter of the LeadStore port (records, search index, idempotency, counters, ledger, route memory) kept beside its schema; the shared contract test (test/lead-store.contract.ts) holds it to the Redis one.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type SQLOutputValue, type StatementSync } from "node:sqlite";
import { personKey } from "../domain/routing/sticky.ts";
import type { Counters, PersonRoute, RouteMemory } from "../domain/types.ts";
import {
  DEFAULT_IDEMPOTENCY_TTL_SECONDS,
  type DeleteWhen,
  dateBounds,
  decodeCursor,
  emptyCounts,
  encodeCursor,
  facetTerms,
  type IdempotencyClaim,
  LEAD_STATUSES,
  type LeadError,
  LeadExistsError,
  type LeadFacets,
  LeadNotFoundError,
  type LeadPage,
  type LeadRecord,
  type LeadStatus,
  type LeadStore,
  type LeadSummary,
  LeasedLedger,
  type LeaseOptions,
  type LedgerBackend,
  type ListLeadsOptions,
  listLimit,
  type NewLead,
  queryTermGroups,
  receivedAtMs,
  type StatusCounts,
  type TimelineEntry,
  ttlMs,
  withDuration,
} from "./lead-store.ts";
import type { SqliteBatch } from "./sqlite-batch.ts";

export interface SqliteLeadStoreOptions {
  /** Database file (its directory is created) or ":memory:". Ignored when `db` is given. */
  path?: string;
  /** A connection shared with the checkpointer; the store then leaves opening and closing it to the owner. */
  db?: DatabaseSync;
  /** How long a write waits for another process's lock before failing. Default 5000 ms. */
  busyTimeoutMs?: number;
  ledger?: LeaseOptions;
  clock?: () => Date;
  /** Group commit shared with the other writers on `db` (checkpoints, jobs); without it each write commits alone. */
  batch?: SqliteBatch;
}

const LEADS_TABLE = (name: string) => `
CREATE TABLE IF NOT EXISTS ${name} (
  lead_id TEXT PRIMARY KEY,
  status TEXT NOT NULL CHECK (status IN (${LEAD_STATUSES.map((s) => `'${s}'`).join(", ")})),
  source TEXT,
  received_at TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  updated_at TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  idempotency_key TEXT,
  payload TEXT NOT NULL,
  result TEXT,
  facets TEXT,
  next_attempt_at TEXT
) STRICT;`;

const SCHEMA = `${LEADS_TABLE("leads")}
CREATE INDEX IF NOT EXISTS leads_newest ON leads (received_at_ms DESC, lead_id DESC);
CREATE INDEX IF NOT EXISTS leads_status_newest ON leads (status, received_at_ms DESC, lead_id DESC);
CREATE INDEX IF NOT EXISTS leads_status_updated ON leads (status, updated_at);
CREATE TABLE IF NOT EXISTS lead_terms (
  term TEXT NOT NULL,
  lead_id TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  PRIMARY KEY (term, lead_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS lead_terms_newest ON lead_terms (term, received_at_ms DESC, lead_id DESC);
CREATE INDEX IF NOT EXISTS lead_terms_lead ON lead_terms (lead_id);
CREATE TABLE IF NOT EXISTS timeline (
  seq INTEGER PRIMARY KEY,
  lead_id TEXT NOT NULL,
  entry TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS timeline_lead ON timeline (lead_id, seq);
CREATE TABLE IF NOT EXISTS idempotency (
  key TEXT PRIMARY KEY,
  lead_id TEXT NOT NULL,
  expires_at_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS counters (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL,
  expires_at_ms INTEGER
) STRICT;
CREATE TABLE IF NOT EXISTS person_routes (
  person TEXT PRIMARY KEY,
  route TEXT NOT NULL,
  expires_at_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS ledger (
  key TEXT PRIMARY KEY,
  result TEXT,
  lock_token TEXT,
  lock_expires_at_ms INTEGER
) STRICT;
`;

const LEAD_COLUMNS =
  "lead_id, status, source, received_at, received_at_ms, updated_at, attempts, last_error, idempotency_key, payload, result, facets, next_attempt_at";

/** Databases made before a column existed get it here. */
function migrate(db: DatabaseSync): void {
  const columns = new Set(
    db
      .prepare("PRAGMA table_info(leads)")
      .all()
      .map((row) => String(row.name)),
  );
  if (!columns.has("facets")) db.exec("ALTER TABLE leads ADD COLUMN facets TEXT");
}

/**
 * A `leads` table from before the newest status (`awaiting`): SQLite cannot change a CHECK constraint in place, so the
 * table is copied into one with the current constraint and columns, in one transaction (another process
 * opening the file at the same time waits, then finds it done).
 */
function migrateLeads(db: DatabaseSync): void {
  const current = () =>
    db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'leads'").get()?.sql;
  const sql = current();
  if (sql == null || String(sql).includes("'awaiting'")) return;
  db.exec("BEGIN IMMEDIATE");
  try {
    if (!String(current()).includes("'awaiting'")) {
      db.exec(LEADS_TABLE("leads_new"));
      const names = (table: string) =>
        db
          .prepare(`PRAGMA table_info(${table})`)
          .all()
          .map((row) => String(row.name));
      const kept = new Set(names("leads_new"));
      const columns = names("leads")
        .filter((name) => kept.has(name))
        .join(", ");
      db.exec(`INSERT INTO leads_new (${columns}) SELECT ${columns} FROM leads`);
      db.exec("DROP TABLE leads");
      db.exec("ALTER TABLE leads_new RENAME TO leads");
    }
    db.exec("COMMIT");
  } catch (err) {
    db.exec("ROLLBACK");
    throw err;
  }
}

type Row = Record<string, SQLOutputValue>;

/** The embedded lead store: one SQLite file, safe for several processes thanks to WAL and a busy timeout. */
export class SqliteLeadStore implements LeadStore {
  readonly name = "sqlite";
  readonly counters: Counters;
  readonly ledger: LeasedLedger;
  readonly routeMemory: RouteMemory;

  readonly #db: DatabaseSync;
  readonly #ownsDb: boolean;
  readonly #clock: () => Date;
  readonly #sql: ReturnType<typeof prepare>;
  readonly #statements = new Map<string, StatementSync>();
  readonly #batch: SqliteBatch | undefined;

  constructor(options: SqliteLeadStoreOptions) {
    if (options.db) {
      this.#db = options.db;
      this.#ownsDb = false;
    } else {
      const path = options.path;
      if (!path) throw new TypeError("SqliteLeadStore needs a path or a db");
      if (path !== ":memory:" && !path.startsWith("file:")) mkdirSync(dirname(path), { recursive: true });
      this.#db = new DatabaseSync(path);
      this.#ownsDb = true;
    }
    this.#clock = options.clock ?? (() => new Date());
    this.#batch = options.batch;
    this.#db.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
    // WAL lets readers (admin API) run beside the worker's writes; ":memory:" silently stays in "memory" mode.
    this.#db.exec("PRAGMA journal_mode = WAL");
    this.#db.exec("PRAGMA synchronous = NORMAL");
    migrateLeads(this.#db);
    this.#db.exec(SCHEMA);
    migrate(this.#db);
    this.#sql = prepare(this.#db);
    // Expired rows are otherwise only replaced when their key comes back; daily-cap keys never do.
    this.#sql.purgeIdempotency.run(this.#now());
    this.#sql.purgeCounters.run(this.#now());
    this.#sql.purgePersonRoutes.run(this.#now());
    this.counters = {
      increment: (key, ttlSeconds) => this.#write(() => this.#increment(key, ttlSeconds)),
      incrementBelow: (key, limit, ttlSeconds) =>
        this.#write(() => this.#incrementBelow(key, limit, ttlSeconds)),
      decrement: (key) =>
        this.#write(() => Number(this.#sql.counterDecrement.get(key, this.#now())?.value ?? 0)),
      get: async (key) => {
        const row = this.#sql.counterGet.get(key, this.#now());
        return row ? Number(row.value) : 0;
      },
    };
    this.ledger = new LeasedLedger(this.#ledgerBackend(), options.ledger);
    this.routeMemory = {
      recall: async (person) => {
        const row = this.#sql.personRouteGet.get(person, this.#now());
        return row ? (JSON.parse(String(row.route)) as PersonRoute) : undefined;
      },
      remember: async (person, route, ttlSeconds) => {
        const json = JSON.stringify(route);
        await this.#write(() => this.#sql.personRoutePut.run(person, json, this.#now() + ttlMs(ttlSeconds)));
      },
    };
  }

  async createLead(lead: NewLead): Promise<void> {
    const ms = receivedAtMs(lead.receivedAt);
    const facets = lead.facets ?? {};
    await this.#write(() => {
      const { changes } = this.#sql.insertLead.run(
        lead.leadId,
        lead.source ?? null,
        lead.receivedAt,
        ms,
        this.#clock().toISOString(),
        lead.idempotencyKey ?? null,
        JSON.stringify(lead.payload ?? null),
        JSON.stringify(facets),
      );
      if (changes === 0) throw new LeadExistsError(lead.leadId);
      for (const term of facetTerms(facets, lead.source)) this.#sql.insertTerm.run(term, lead.leadId, ms);
    });
  }

  async claimIdempotencyKey(
    key: string,
    leadId: string,
    ttlSeconds = DEFAULT_IDEMPOTENCY_TTL_SECONDS,
  ): Promise<IdempotencyClaim> {
    const ttl = ttlMs(ttlSeconds);
    return this.#write(() => {
      const now = this.#now();
      this.#sql.idemDeleteExpired.run(key, now);
      const inserted = this.#sql.idemInsert.get(key, leadId, now + ttl);
      if (inserted) return { claimed: true } as const;
      const holder = this.#sql.idemGet.get(key);
      return { claimed: false, leadId: String(holder?.lead_id) } as const;
    });
  }

  async releaseIdempotencyKey(key: string, leadId: string): Promise<void> {
    await this.#write(() => this.#sql.idemRelease.run(key, leadId));
  }

  async getLead(leadId: string): Promise<LeadRecord | null> {
    const row = this.#sql.getLead.get(leadId);
    if (!row) return null;
    const timeline = this.#sql.timelineOf
      .all(leadId)
      .map((r) => JSON.parse(String(r.entry)) as TimelineEntry);
    return toRecord(row, timeline);
  }

  async listLeads(options: ListLeadsOptions = {}): Promise<LeadPage> {
    const limit = listLimit(options.limit);
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    const { fromMs, toMs } = dateBounds(options);
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (options.status !== undefined) {
      where.push("status = ?");
      params.push(options.status);
    }
    if (fromMs !== undefined) {
      where.push("received_at_ms >= ?");
      params.push(fromMs);
    }
    if (toMs !== undefined) {
      where.push("received_at_ms < ?");
      params.push(toMs);
    }
    if (after) {
      where.push("(received_at_ms < ? OR (received_at_ms = ? AND lead_id < ?))");
      params.push(after.ms, after.ms, after.leadId);
    }
    for (const group of queryTermGroups(options)) {
      where.push(
        `lead_id IN (SELECT lead_id FROM lead_terms WHERE term IN (${group.map(() => "?").join(", ")}))`,
      );
      params.push(...group);
    }
    const sql = `SELECT ${LEAD_COLUMNS} FROM leads ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY received_at_ms DESC, lead_id DESC LIMIT ?`;
    const rows = this.#statement(sql).all(...params, limit + 1);
    const page = rows.slice(0, limit);
    const timelines = new Map<string, TimelineEntry[]>();
    if (page.length > 0) {
      const ids = JSON.stringify(page.map((r) => String(r.lead_id)));
      for (const r of this.#sql.timelinesOf.all(ids)) {
        const id = String(r.lead_id);
        const list = timelines.get(id) ?? [];
        list.push(JSON.parse(String(r.entry)) as TimelineEntry);
        timelines.set(id, list);
      }
    }
    const leads = page.map((r) => toRecord(r, timelines.get(String(r.lead_id)) ?? []));
    const last = page.at(-1);
    if (rows.length <= limit || !last) return { leads };
    return {
      leads,
      nextCursor: encodeCursor({ ms: Number(last.received_at_ms), leadId: String(last.lead_id) }),
    };
  }

  async countByStatus(): Promise<StatusCounts> {
    const counts = emptyCounts();
    for (const row of this.#sql.countByStatus.all()) counts[row.status as LeadStatus] = Number(row.n);
    return counts;
  }

  async markQueued(leadId: string): Promise<void> {
    await this.#write(() => this.#setStatus(leadId, "queued"));
  }

  async markRunning(leadId: string): Promise<void> {
    await this.#write(() => this.#setStatus(leadId, "running", { attempts: 1 }));
  }

  async beginAttempt(leadId: string): Promise<LeadSummary | null> {
    return this.#write(() => {
      const row = this.#sql.getLead.get(leadId);
      if (!row) return null;
      const { timeline: _, ...lead } = toRecord(row, []);
      // A completed lead, and one waiting in the graph for a person or a timer, are not runs to start.
      if (lead.status !== "completed" && lead.status !== "awaiting")
        this.#setStatus(leadId, "running", { attempts: 1 });
      return lead;
    });
  }

  async markCompleted(leadId: string, result: Record<string, unknown>, facets?: LeadFacets): Promise<void> {
    await this.#write(() => {
      this.#setStatus(leadId, "completed", { result: JSON.stringify(result) });
      if (facets) this.#setFacets(leadId, facets);
    });
  }

  async markAwaiting(leadId: string, result: Record<string, unknown>, facets?: LeadFacets): Promise<void> {
    await this.#write(() => {
      this.#setStatus(leadId, "awaiting", { result: JSON.stringify(result) });
      if (facets) this.#setFacets(leadId, facets);
    });
  }

  async markFailed(leadId: string, error: Omit<LeadError, "at">, facets?: LeadFacets): Promise<void> {
    const lastError: LeadError = { ...error, at: this.#clock().toISOString() };
    await this.#write(() => {
      this.#setStatus(leadId, "failed", { lastError: JSON.stringify(lastError) });
      if (facets) this.#setFacets(leadId, facets);
    });
  }

  async markRetrying(
    leadId: string,
    error: Omit<LeadError, "at">,
    nextAttemptAt: string,
    facets?: LeadFacets,
  ): Promise<void> {
    const lastError: LeadError = { ...error, at: this.#clock().toISOString() };
    await this.#write(() => {
      this.#setStatus(leadId, "retrying", { lastError: JSON.stringify(lastError), nextAttemptAt });
      if (facets) this.#setFacets(leadId, facets);
    });
  }

  async appendTimeline(leadId: string, entry: TimelineEntry): Promise<void> {
    const json = JSON.stringify(withDuration(entry));
    const changes = await this.#write(() => this.#sql.appendTimeline.run(leadId, json, leadId).changes);
    if (changes === 0) throw new LeadNotFoundError(leadId);
  }

  async expiredLeads(before: string, limit: number): Promise<string[]> {
    return this.#sql.expired.all(before, limit).map((row) => String(row.lead_id));
  }

  async deleteLead(leadId: string, when: DeleteWhen): Promise<boolean> {
    return this.#write(() => {
      const row = this.#sql.deletable.get(leadId);
      if (!row || !when.statuses.includes(row.status as LeadStatus)) return false;
      if (when.updatedBefore !== undefined && String(row.updated_at) > when.updatedBefore) return false;
      this.#sql.deleteTerms.run(leadId);
      this.#sql.deleteTimeline.run(leadId);
      // Ledger keys are `<leadId>:<effect>`: the range [`<id>:`, `<id>;`) is exactly the lead's.
      this.#sql.deleteLedger.run(`${leadId}:`, `${leadId};`);
      if (row.idempotency_key != null) this.#sql.idemRelease.run(String(row.idempotency_key), leadId);
      const email = (JSON.parse(String(row.facets ?? "{}")) as LeadFacets).email;
      if (email) this.#sql.deletePersonRoute.run(personKey(email), leadId);
      this.#sql.deleteLead.run(leadId);
      return true;
    });
  }

  async ping(): Promise<boolean> {
    try {
      return this.#sql.ping.get()?.ok === 1;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.#ownsDb && this.#db.isOpen) this.#db.close();
  }

  #now(): number {
    return this.#clock().getTime();
  }

  #setStatus(
    leadId: string,
    status: LeadStatus,
    change: { attempts?: number; result?: string; lastError?: string; nextAttemptAt?: string } = {},
  ): void {
    const { changes } = this.#sql.setStatus.run(
      status,
      this.#clock().toISOString(),
      change.attempts ?? 0,
      change.result ?? null,
      change.lastError ?? null,
      leadId,
      change.nextAttemptAt ?? null,
    );
    if (changes === 0) throw new LeadNotFoundError(leadId);
  }

  /** Replaces the lead's facets and its index terms (inside the caller's transaction). */
  #setFacets(leadId: string, facets: LeadFacets): void {
    const row = this.#sql.leadIndexRow.get(leadId);
    if (!row) throw new LeadNotFoundError(leadId);
    this.#sql.setFacets.run(JSON.stringify(facets), leadId);
    const ms = Number(row.received_at_ms);
    const source = row.source == null ? undefined : String(row.source);
    // Only the terms that change are written: a lead's facets change a term or two at a time (the owner,
    // the path), and each term row sits in three B-trees.
    const terms = new Set(facetTerms(facets, source));
    for (const row of this.#sql.leadTerms.all(leadId)) {
      const term = String(row.term);
      if (!terms.delete(term)) this.#sql.deleteTerm.run(term, leadId);
    }
    for (const term of terms) this.#sql.insertTerm.run(term, leadId, ms);
  }

  /** Search queries vary in shape; each shape is prepared once. */
  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      if (this.#statements.size > 200) this.#statements.clear();
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #increment(key: string, ttlSeconds?: number): number {
    const now = this.#now();
    const expiresAt = ttlSeconds === undefined ? null : now + ttlMs(ttlSeconds);
    const row = this.#sql.counterIncrement.get(key, expiresAt, now, now);
    return Number(row?.value);
  }

  /** One UPSERT statement: SQLite runs it atomically, so no other process slips in between check and write. */
  #incrementBelow(key: string, limit: number, ttlSeconds?: number): { taken: boolean; value: number } {
    const now = this.#now();
    const expiresAt = ttlSeconds === undefined ? null : now + ttlMs(ttlSeconds);
    const row = this.#sql.counterIncrementBelow.get(key, expiresAt, now, now, now, limit);
    if (row) return { taken: true, value: Number(row.value) };
    return { taken: false, value: Number(this.#sql.counterGet.get(key, now)?.value ?? 0) };
  }

  /** A write: in the shared group commit when there is one, else in a transaction of its own, now. */
  #write<T>(fn: () => T): Promise<T> {
    if (this.#batch) return this.#batch.run(() => this.#transaction(fn));
    try {
      return Promise.resolve(this.#transaction(fn));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * BEGIN IMMEDIATE takes the write lock up front, so a read-then-write cannot lose a race with another
   * process; inside a transaction someone else opened on a shared connection, a savepoint nests instead.
   */
  #transaction<T>(fn: () => T): T {
    const nested = this.#db.isTransaction;
    this.#db.exec(nested ? "SAVEPOINT lead_store" : "BEGIN IMMEDIATE");
    try {
      const out = fn();
      this.#db.exec(nested ? "RELEASE lead_store" : "COMMIT");
      return out;
    } catch (err) {
      this.#db.exec(nested ? "ROLLBACK TO lead_store; RELEASE lead_store" : "ROLLBACK");
      throw err;
    }
  }

  #ledgerBackend(): LedgerBackend {
    const sql = this.#sql;
    return {
      claim: (key, token, leaseMs) =>
        this.#write(() => {
          const now = this.#now();
          const row = sql.ledgerGet.get(key);
          if (row?.result != null) return { state: "done", json: String(row.result) } as const;
          if (row?.lock_token != null && Number(row.lock_expires_at_ms) > now)
            return { state: "busy" } as const;
          sql.ledgerClaim.run(key, token, now + leaseMs);
          // A row without a result is an earlier attempt's claim, whose lease has ended.
          return { state: "claimed", mayExist: row !== undefined } as const;
        }),
      commit: (key, _token, json) =>
        this.#write(() => {
          sql.ledgerCommit.run(key, json);
          return String(sql.ledgerGet.get(key)?.result);
        }),
      release: async (key, token) => {
        await this.#write(() => sql.ledgerRelease.run(key, token));
      },
      renew: (key, token, leaseMs) =>
        this.#write(() => sql.ledgerRenew.run(this.#now() + leaseMs, key, token).changes > 0),
      read: async (key) => {
        const result = sql.ledgerGet.get(key)?.result;
        return result == null ? undefined : String(result);
      },
    };
  }
}

function prepare(db: DatabaseSync) {
  const p = (sql: string): StatementSync => db.prepare(sql);
  return {
    insertLead: p(
      `INSERT INTO leads (lead_id, status, source, received_at, received_at_ms, updated_at, attempts, idempotency_key, payload, facets)
       VALUES (?, 'queued', ?, ?, ?, ?, 0, ?, ?, ?) ON CONFLICT (lead_id) DO NOTHING`,
    ),
    insertTerm: p(
      "INSERT INTO lead_terms (term, lead_id, received_at_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    ),
    deleteTerms: p("DELETE FROM lead_terms WHERE lead_id = ?"),
    leadTerms: p("SELECT term FROM lead_terms WHERE lead_id = ?"),
    deleteTerm: p("DELETE FROM lead_terms WHERE term = ? AND lead_id = ?"),
    leadIndexRow: p("SELECT source, received_at_ms FROM leads WHERE lead_id = ?"),
    setFacets: p("UPDATE leads SET facets = ? WHERE lead_id = ?"),
    getLead: p(`SELECT ${LEAD_COLUMNS} FROM leads WHERE lead_id = ?`),
    countByStatus: p("SELECT status, COUNT(*) AS n FROM leads GROUP BY status"),
    // A completed lead drops its last error (the failed steps stay in its timeline); only a retrying lead
    // has a next attempt time.
    setStatus: p(
      `UPDATE leads SET status = ?1, updated_at = ?2, attempts = attempts + ?3,
         result = COALESCE(?4, result),
         last_error = CASE WHEN ?1 IN ('completed', 'awaiting') THEN NULL ELSE COALESCE(?5, last_error) END,
         next_attempt_at = ?7
       WHERE lead_id = ?6`,
    ),
    appendTimeline: p(
      "INSERT INTO timeline (lead_id, entry) SELECT ?, ? WHERE EXISTS (SELECT 1 FROM leads WHERE lead_id = ?)",
    ),
    timelineOf: p("SELECT entry FROM timeline WHERE lead_id = ? ORDER BY seq"),
    timelinesOf: p(
      "SELECT lead_id, entry FROM timeline WHERE lead_id IN (SELECT value FROM json_each(?)) ORDER BY seq",
    ),
    idemDeleteExpired: p("DELETE FROM idempotency WHERE key = ? AND expires_at_ms <= ?"),
    idemInsert: p(
      "INSERT INTO idempotency (key, lead_id, expires_at_ms) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING RETURNING lead_id",
    ),
    purgeIdempotency: p("DELETE FROM idempotency WHERE expires_at_ms <= ?"),
    purgeCounters: p("DELETE FROM counters WHERE expires_at_ms <= ?"),
    purgePersonRoutes: p("DELETE FROM person_routes WHERE expires_at_ms <= ?"),
    personRouteGet: p("SELECT route FROM person_routes WHERE person = ? AND expires_at_ms > ?"),
    personRoutePut: p(
      `INSERT INTO person_routes (person, route, expires_at_ms) VALUES (?, ?, ?)
       ON CONFLICT (person) DO UPDATE SET route = excluded.route, expires_at_ms = excluded.expires_at_ms`,
    ),
    idemGet: p("SELECT lead_id FROM idempotency WHERE key = ?"),
    idemRelease: p("DELETE FROM idempotency WHERE key = ? AND lead_id = ?"),
    // SET expressions see the row as it was, so both CASEs test the old expiry.
    counterIncrement: p(
      `INSERT INTO counters (key, value, expires_at_ms) VALUES (?, 1, ?)
       ON CONFLICT (key) DO UPDATE SET
         value = CASE WHEN counters.expires_at_ms <= ? THEN 1 ELSE counters.value + 1 END,
         expires_at_ms = CASE WHEN counters.expires_at_ms <= ? THEN excluded.expires_at_ms ELSE counters.expires_at_ms END
       RETURNING value`,
    ),
    // As counterIncrement, but the update happens only below the limit (or over an expired row); when it
    // does not, RETURNING yields no row. A missing row is inserted at 1: limits are at least 1.
    counterIncrementBelow: p(
      `INSERT INTO counters (key, value, expires_at_ms) VALUES (?, 1, ?)
       ON CONFLICT (key) DO UPDATE SET
         value = CASE WHEN counters.expires_at_ms <= ? THEN 1 ELSE counters.value + 1 END,
         expires_at_ms = CASE WHEN counters.expires_at_ms <= ? THEN excluded.expires_at_ms ELSE counters.expires_at_ms END
       WHERE counters.expires_at_ms <= ? OR counters.value < ?
       RETURNING value`,
    ),
    counterDecrement: p(
      `UPDATE counters SET value = value - 1
       WHERE key = ? AND value > 0 AND (expires_at_ms IS NULL OR expires_at_ms > ?)
       RETURNING value`,
    ),
    counterGet: p(
      "SELECT value FROM counters WHERE key = ? AND (expires_at_ms IS NULL OR expires_at_ms > ?)",
    ),
    ledgerGet: p("SELECT result, lock_token, lock_expires_at_ms FROM ledger WHERE key = ?"),
    ledgerClaim: p(
      `INSERT INTO ledger (key, lock_token, lock_expires_at_ms) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET lock_token = excluded.lock_token, lock_expires_at_ms = excluded.lock_expires_at_ms`,
    ),
    // First result wins: a holder whose lease ran out and who finishes late does not overwrite it.
    ledgerCommit: p(
      `INSERT INTO ledger (key, result) VALUES (?, ?)
       ON CONFLICT (key) DO UPDATE SET result = excluded.result, lock_token = NULL, lock_expires_at_ms = NULL
       WHERE ledger.result IS NULL`,
    ),
    // The row stays: the next claim learns that an attempt ran (and may have taken effect).
    ledgerRelease: p(
      "UPDATE ledger SET lock_expires_at_ms = 0 WHERE key = ? AND lock_token = ? AND result IS NULL",
    ),
    ledgerRenew: p(
      "UPDATE ledger SET lock_expires_at_ms = ? WHERE key = ? AND lock_token = ? AND result IS NULL",
    ),
    ping: p("SELECT 1 AS ok"),
    expired: p(
      "SELECT lead_id FROM leads WHERE status = 'completed' AND updated_at <= ? ORDER BY updated_at LIMIT ?",
    ),
    deletable: p("SELECT status, updated_at, idempotency_key, facets FROM leads WHERE lead_id = ?"),
    deleteTimeline: p("DELETE FROM timeline WHERE lead_id = ?"),
    deleteLedger: p("DELETE FROM ledger WHERE key >= ? AND key < ?"),
    deletePersonRoute: p(
      "DELETE FROM person_routes WHERE person = ? AND json_extract(route, '$.leadId') = ?",
    ),
    deleteLead: p("DELETE FROM leads WHERE lead_id = ?"),
  };
}

function toRecord(row: Row, timeline: TimelineEntry[]): LeadRecord {
  const record: LeadRecord = {
    leadId: String(row.lead_id),
    status: row.status as LeadStatus,
    receivedAt: String(row.received_at),
    updatedAt: String(row.updated_at),
    attempts: Number(row.attempts),
    payload: JSON.parse(String(row.payload)),
    timeline,
    facets: row.facets == null ? {} : (JSON.parse(String(row.facets)) as LeadFacets),
  };
  if (row.source != null) record.source = String(row.source);
  if (row.last_error != null) record.lastError = JSON.parse(String(row.last_error)) as LeadError;
  if (row.idempotency_key != null) record.idempotencyKey = String(row.idempotency_key);
  if (row.result != null) record.result = JSON.parse(String(row.result)) as Record<string, unknown>;
  if (row.next_attempt_at != null) record.nextAttemptAt = String(row.next_attempt_at);
  return record;
}
