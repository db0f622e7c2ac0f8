/**
 * Group commit for one SQLite connection. In the embedded profile every write of every lead in flight
 * (checkpoints, lead records, timeline, ledger, jobs) goes to one database file; committed one by one,
 * each write paid for its own transaction (a WAL append and an index update). Here the writes queued during
 * one turn of the event loop run together in one transaction, each inside its own savepoint, and each
 * caller's promise settles once that transaction has committed: a write that resolved is durable, exactly
 * as before, and costs a share of one commit.
 *
 * A write is a synchronous function over the connection; it may read what earlier writes of the same batch
 * wrote. One that throws is rolled back alone and rejects alone. If the commit itself fails, every write of
 * the batch rejects. The transaction opens and closes within one synchronous flush, so between flushes the
 * connection is never inside a transaction and other code may use it as before.
 */
import type { DatabaseSync } from "node:sqlite";

interface Queued {
  write: () => unknown;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

export interface SqliteBatchOptions {
  /** Called after each commit, e.g. to wake the WAL checkpointer (store/wal-checkpointer.ts). */
  afterCommit?: () => void;
}

export class SqliteBatch {
  readonly #db: DatabaseSync;
  readonly #afterCommit: (() => void) | undefined;
  #queue: Queued[] = [];
  #scheduled = false;

  constructor(db: DatabaseSync, options: SqliteBatchOptions = {}) {
    this.#db = db;
    this.#afterCommit = options.afterCommit;
  }

  /** Runs `write` in the next group transaction; resolves with its result once that has committed. */
  run<T>(write: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ write, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    const db = this.#db;
    try {
      db.exec("BEGIN IMMEDIATE");
    } catch (err) {
      for (const item of batch) item.reject(err);
      return;
    }
    const done: Array<{ item: Queued; value: unknown }> = [];
    for (const item of batch) {
      db.exec("SAVEPOINT batch_write");
      try {
        const value = item.write();
        db.exec("RELEASE batch_write");
        done.push({ item, value });
      } catch (err) {
        db.exec("ROLLBACK TO batch_write; RELEASE batch_write");
        item.reject(err);
      }
    }
    try {
      db.exec("COMMIT");
    } catch (err) {
      if (db.isTransaction) db.exec("ROLLBACK");
      for (const { item } of done) item.reject(err);
      return;
    }
    this.#afterCommit?.();
    for (const { item, value } of done) item.resolve(value);
  }
}
