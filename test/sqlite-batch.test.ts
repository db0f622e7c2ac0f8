import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteBatch } from "../store/sqlite-batch.ts";

const dir = mkdtempSync(join(tmpdir(), "leadgraph-batch-"));
let files = 0;

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function open() {
  const path = join(dir, `batch-${++files}.db`);
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL; CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)");
  return { db, path, batch: new SqliteBatch(db) };
}

const rows = (path: string) => {
  const reader = new DatabaseSync(path);
  try {
    return reader.prepare("SELECT k, v FROM t ORDER BY k").all();
  } finally {
    reader.close();
  }
};

describe("SqliteBatch", () => {
  it("commits the writes of one turn together and resolves each once committed, not before", async () => {
    const { db, path, batch } = open();
    const insert = db.prepare("INSERT INTO t (k, v) VALUES (?, ?) RETURNING v");
    let transactions = 0;
    const writes = ["a", "b", "c"].map((k, i) =>
      batch.run(() => {
        if (!db.isTransaction) throw new Error("not in a transaction");
        transactions += i === 0 ? 1 : 0;
        return insert.get(k, i)?.v;
      }),
    );
    // Nothing is visible to another connection until the batch has run.
    expect(rows(path)).toEqual([]);
    expect(await Promise.all(writes)).toEqual([0, 1, 2]);
    expect(transactions).toBe(1);
    expect(rows(path)).toEqual([
      { k: "a", v: 0 },
      { k: "b", v: 1 },
      { k: "c", v: 2 },
    ]);
    expect(db.isTransaction).toBe(false);
    db.close();
  });

  it("rolls back and rejects only the write that threw; a later write reads the earlier ones", async () => {
    const { db, path, batch } = open();
    const insert = db.prepare("INSERT INTO t (k, v) VALUES (?, ?)");
    const first = batch.run(() => insert.run("a", 1));
    const failing = batch.run(() => {
      insert.run("b", 2);
      throw new Error("boom");
    });
    const reading = batch.run(() => db.prepare("SELECT COUNT(*) AS n FROM t").get()?.n);
    await expect(failing).rejects.toThrow("boom");
    await first;
    expect(await reading).toBe(1);
    expect(rows(path)).toEqual([{ k: "a", v: 1 }]);
    db.close();
  });

  it("rejects every write of a batch whose commit fails, and keeps none of them", async () => {
    const { db, path, batch } = open();
    db.exec(`PRAGMA foreign_keys = ON;
      CREATE TABLE parent (id TEXT PRIMARY KEY);
      CREATE TABLE child (id TEXT REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)`);
    const ok = batch.run(() => db.prepare("INSERT INTO t (k, v) VALUES ('a', 1)").run());
    // A deferred foreign key is checked at COMMIT, so the commit itself fails.
    const orphan = batch.run(() => db.prepare("INSERT INTO child (id) VALUES ('missing')").run());
    await expect(ok).rejects.toThrow(/FOREIGN KEY/);
    await expect(orphan).rejects.toThrow(/FOREIGN KEY/);
    expect(rows(path)).toEqual([]);
    expect(db.isTransaction).toBe(false);
    // The next batch works.
    await batch.run(() => db.prepare("INSERT INTO t (k, v) VALUES ('b', 2)").run());
    expect(rows(path)).toEqual([{ k: "b", v: 2 }]);
    db.close();
  });
});
