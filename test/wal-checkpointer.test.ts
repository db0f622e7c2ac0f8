import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase } from "../app/database.ts";
import { SqliteBatch } from "../store/sqlite-batch.ts";
import { WalCheckpointer } from "../store/wal-checkpointer.ts";

const dirs: string[] = [];

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function open() {
  const dir = mkdtempSync(join(tmpdir(), "leadgraph-wal-"));
  dirs.push(dir);
  const { db, path } = openDatabase(dir);
  db.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL)");
  return { db, path };
}

/** 200 group commits of ten 4 KB rows: some 2,000 pages of log, under the backstop's 16,000. */
async function write(db: DatabaseSync, batch: SqliteBatch, from = 0): Promise<void> {
  const insert = db.prepare("INSERT INTO t (k, v) VALUES (?, ?)");
  const blob = new Uint8Array(4096).fill(7);
  for (let commit = 0; commit < 200; commit++) {
    const writes = Array.from({ length: 10 }, (_, i) =>
      batch.run(() => insert.run(from + commit * 10 + i, blob)),
    );
    await Promise.all(writes);
  }
}

const autocheckpoint = (db: DatabaseSync) =>
  Number(db.prepare("PRAGMA wal_autocheckpoint").get()?.wal_autocheckpoint);

async function until(condition: () => boolean, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await sleep(20);
  return condition();
}

describe("WalCheckpointer", () => {
  it("copies the log into the database file from its own thread while the service's commits only append", async () => {
    const { db, path } = open();
    const checkpointer = new WalCheckpointer({ path, db, intervalMs: 20 });
    const batch = new SqliteBatch(db, { afterCommit: () => checkpointer.wake() });
    const before = statSync(path).size;
    try {
      await write(db, batch);
      expect(checkpointer.running).toBe(true);
      // The service's connection checkpoints only past the backstop, which these writes never reach.
      expect(await until(() => autocheckpoint(db) === 16_000)).toBe(true);
      // 2,000 rows of 4 KB reach the database file itself (not only the -wal file).
      expect(await until(() => statSync(path).size > before + 4096 * 1500)).toBe(true);
      expect(db.prepare("SELECT count(*) AS n FROM t").get()?.n).toBe(2000);
    } finally {
      await checkpointer.close();
      db.close();
    }
    expect(checkpointer.running).toBe(false);
  });

  it("without it the same writes stay in the log under that backstop (the control)", async () => {
    const { db, path } = open();
    db.exec("PRAGMA wal_autocheckpoint = 16000");
    const batch = new SqliteBatch(db);
    const before = statSync(path).size;
    try {
      await write(db, batch);
      await sleep(200);
      expect(statSync(path).size).toBe(before);
    } finally {
      db.close();
    }
  });

  it("ends its thread when no writes come in, restores SQLite's own checkpoint, and starts again on a commit", async () => {
    const { db, path } = open();
    const checkpointer = new WalCheckpointer({ path, db, intervalMs: 20, idleMs: 200 });
    const batch = new SqliteBatch(db, { afterCommit: () => checkpointer.wake() });
    try {
      await write(db, batch);
      expect(checkpointer.running).toBe(true);
      expect(await until(() => !checkpointer.running)).toBe(true);
      expect(autocheckpoint(db)).toBe(1000);
      await batch.run(() => db.prepare("INSERT INTO t (k, v) VALUES (?, ?)").run(-1, new Uint8Array(1)));
      expect(checkpointer.running).toBe(true);
    } finally {
      await checkpointer.close();
      db.close();
    }
    // Closed: later commits do not start it again.
    expect(checkpointer.running).toBe(false);
    checkpointer.wake();
    expect(checkpointer.running).toBe(false);
  });
});
