/**
 * The embedded profile's event log: an `events` table in the lead database, ids from SQLite's rowid, the
 * oldest rows trimmed past `keep`. Other processes on the same file (workers) append to it; readers
 * notice new rows by polling the newest id.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { setTimeout as sleep } from "node:timers/promises";
import {
  DEFAULT_EVENTS_KEEP,
  type EventLog,
  type EventPage,
  InvalidEventIdError,
  type LoggedEvent,
} from "./event-log.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  data TEXT NOT NULL
) STRICT;
`;

export interface SqliteEventLogOptions {
  /** The lead store's connection; the log never closes it. */
  db: DatabaseSync;
  keep?: number;
  /** How often a waiting reader looks for new rows. Default 100 ms. */
  pollMs?: number;
}

function prepare(db: DatabaseSync) {
  const p = (sql: string): StatementSync => db.prepare(sql);
  return {
    insert: p("INSERT INTO events (data) VALUES (?)"),
    // AUTOINCREMENT: ids are never reused, even after the newest rows are trimmed.
    trim: p("DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?"),
    // Every event carries its ISO time in `at`; from the front only, so ids stay dense.
    trimBefore: p(
      "DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events WHERE json_extract(data, '$.at') < ?)",
    ),
    after: p("SELECT id, data FROM events WHERE id > ? ORDER BY id LIMIT ?"),
    last: p("SELECT id, data FROM events ORDER BY id DESC LIMIT ?"),
    bounds: p("SELECT MIN(id) AS first, MAX(id) AS last FROM events"),
    sequence: p("SELECT seq FROM sqlite_sequence WHERE name = 'events'"),
  };
}

function parseId(id: string): number {
  if (!/^\d{1,15}$/.test(id)) throw new InvalidEventIdError(id);
  return Number(id);
}

function toEvent(row: Record<string, unknown>): LoggedEvent {
  return { id: String(row.id), data: JSON.parse(String(row.data)) as Record<string, unknown> };
}

export class SqliteEventLog implements EventLog {
  readonly name = "sqlite";
  readonly #db: DatabaseSync;
  readonly #sql: ReturnType<typeof prepare>;
  readonly #keep: number;
  readonly #pollMs: number;
  #closed = false;

  constructor(options: SqliteEventLogOptions) {
    this.#db = options.db;
    this.#db.exec(SCHEMA);
    this.#sql = prepare(this.#db);
    this.#keep = options.keep ?? DEFAULT_EVENTS_KEEP;
    this.#pollMs = options.pollMs ?? 100;
  }

  async append(events: ReadonlyArray<Record<string, unknown>>): Promise<void> {
    if (events.length === 0) return;
    const nested = this.#db.isTransaction;
    // One transaction per batch; inside someone else's (a shared connection) a savepoint nests.
    this.#db.exec(nested ? "SAVEPOINT events" : "BEGIN IMMEDIATE");
    try {
      for (const event of events) this.#sql.insert.run(JSON.stringify(event));
      this.#sql.trim.run(this.#keep);
      this.#db.exec(nested ? "RELEASE events" : "COMMIT");
    } catch (err) {
      this.#db.exec(nested ? "ROLLBACK TO events; RELEASE events" : "ROLLBACK");
      throw err;
    }
  }

  async readAfter(afterId: string, limit: number): Promise<EventPage> {
    const after = parseId(afterId);
    const events = this.#sql.after.all(after, limit).map(toEvent);
    const newest = Number(this.#sql.sequence.get()?.seq ?? 0);
    if (after > newest) throw new InvalidEventIdError(afterId);
    const first = this.#sql.bounds.get()?.first;
    // Ids are dense, so the event right after `after` was trimmed when the oldest kept one is further on.
    const oldestKept = first == null ? newest + 1 : Number(first);
    return { events, gap: after < newest && oldestKept > after + 1 };
  }

  async readLast(count: number): Promise<LoggedEvent[]> {
    return this.#sql.last.all(count).map(toEvent).reverse();
  }

  async lastId(): Promise<string> {
    // The sequence, not MAX(id): it is right even when every row was trimmed.
    return String(this.#sql.sequence.get()?.seq ?? 0);
  }

  async waitAfter(afterId: string, timeoutMs: number): Promise<void> {
    const after = parseId(afterId);
    const deadline = Date.now() + timeoutMs;
    while (!this.#closed && Date.now() < deadline) {
      if (Number(this.#sql.sequence.get()?.seq ?? 0) > after) return;
      await sleep(Math.min(this.#pollMs, Math.max(1, deadline - Date.now())));
    }
  }

  async trimBefore(cutoff: Date): Promise<void> {
    this.#sql.trimBefore.run(cutoff.toISOString());
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
