import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";

/** The embedded profile's database, inside DATA_DIR. */
export const DATABASE_FILE = "leadgraph.db";

/**
 * `<dir>/leadgraph.db`, opened for several processes at once: WAL (readers beside a writer) and a busy
 * timeout on SQLite's lock. The caller closes it.
 */
export function openDatabase(dir: string): { db: DatabaseSync; path: string } {
  const abs = resolve(dir);
  mkdirSync(abs, { recursive: true });
  const path = join(abs, DATABASE_FILE);
  const db = new DatabaseSync(path);
  db.exec("PRAGMA busy_timeout = 5000");
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  return { db, path };
}
