import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteBatch } from "../store/sqlite-batch.ts";
import { SqliteLeadStore } from "../store/sqlite-lead-store.ts";
import { runLeadStoreContract } from "./lead-store.contract.ts";

const dir = mkdtempSync(join(tmpdir(), "leadgraph-lead-store-"));
let files = 0;
const freshPath = () => join(dir, `nested-${++files}`, "leads.db");

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

runLeadStoreContract("sqlite", async () => {
  const path = freshPath();
  return {
    store: new SqliteLeadStore({ path }),
    twin: async () => new SqliteLeadStore({ path }),
    async expireLedgerClaim(key) {
      const db = new DatabaseSync(path);
      db.prepare("UPDATE ledger SET lock_expires_at_ms = 0 WHERE key = ? AND result IS NULL").run(key);
      db.close();
    },
  };
});

// The same contract with the service's group commit: every write waits for the batch that carries it.
runLeadStoreContract("sqlite, group commit", async () => {
  const path = join(dir, `batched-${++files}.db`);
  const open = () => {
    const db = new DatabaseSync(path);
    const store = new SqliteLeadStore({ db, batch: new SqliteBatch(db) });
    // The service closes the shared connection after the store.
    const close = store.close.bind(store);
    store.close = async () => {
      await close();
      if (db.isOpen) db.close();
    };
    return store;
  };
  return {
    store: open(),
    twin: async () => open(),
    async expireLedgerClaim(key) {
      const db = new DatabaseSync(path);
      db.prepare("UPDATE ledger SET lock_expires_at_ms = 0 WHERE key = ? AND result IS NULL").run(key);
      db.close();
    },
  };
});

describe("SqliteLeadStore", () => {
  it("keeps leads, timelines, keys, counters and ledger results across close and reopen", async () => {
    const path = freshPath();
    const first = new SqliteLeadStore({ path });
    const receivedAt = "2025-03-01T09:00:00.000Z";
    await first.createLead({
      leadId: "l-1",
      receivedAt,
      payload: { email: "a@b.co" },
      idempotencyKey: "k-1",
    });
    await first.claimIdempotencyKey("k-1", "l-1");
    await first.markRunning("l-1");
    await first.appendTimeline("l-1", {
      node: "capture",
      startedAt: receivedAt,
      endedAt: "2025-03-01T09:00:00.040Z",
      status: "ok",
    });
    await first.markCompleted("l-1", { score: 71, tier: "warm" });
    await first.counters.increment("rr:pool");
    await first.counters.increment("rr:pool");
    await first.ledger.once("l-1:slack", async () => "ts-1");
    await first.close();

    const reopened = new SqliteLeadStore({ path });
    try {
      expect(await reopened.getLead("l-1")).toMatchObject({
        status: "completed",
        attempts: 1,
        result: { score: 71, tier: "warm" },
        idempotencyKey: "k-1",
        timeline: [{ node: "capture", durationMs: 40, status: "ok" }],
      });
      expect(await reopened.claimIdempotencyKey("k-1", "l-2")).toEqual({ claimed: false, leadId: "l-1" });
      expect(await reopened.counters.get("rr:pool")).toBe(2);
      expect(await reopened.ledger.once("l-1:slack", async () => "ts-2")).toBe("ts-1");
      expect(await reopened.countByStatus()).toEqual({
        queued: 0,
        running: 0,
        retrying: 0,
        awaiting: 0,
        completed: 1,
        failed: 0,
      });
    } finally {
      await reopened.close();
    }
  });

  it("moves a leads table from before the retrying status into the current one, rows intact", async () => {
    const path = freshPath();
    mkdirSync(dirname(path), { recursive: true });
    const old = new DatabaseSync(path);
    old.exec(`CREATE TABLE leads (
      lead_id TEXT PRIMARY KEY,
      status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
      source TEXT, received_at TEXT NOT NULL, received_at_ms INTEGER NOT NULL, updated_at TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, idempotency_key TEXT, payload TEXT NOT NULL, result TEXT
    ) STRICT`);
    old
      .prepare(
        `INSERT INTO leads (lead_id, status, received_at, received_at_ms, updated_at, attempts, payload)
         VALUES ('old-1', 'failed', '2025-03-01T09:00:00.000Z', 1740819600000, '2025-03-01T09:00:01.000Z', 2, '{}')`,
      )
      .run();
    old.close();

    const store = new SqliteLeadStore({ path });
    try {
      expect(await store.getLead("old-1")).toMatchObject({ status: "failed", attempts: 2, payload: {} });
      await store.markRetrying("old-1", { message: "x" }, "2025-03-01T09:05:00.000Z");
      expect(await store.getLead("old-1")).toMatchObject({ status: "retrying" });
      // A second process opening the file finds it done.
      const again = new SqliteLeadStore({ path });
      expect(await again.countByStatus()).toMatchObject({ retrying: 1 });
      await again.close();
    } finally {
      await store.close();
    }
  });

  it("moves a leads table from before the awaiting status into the current one, rows intact", async () => {
    const path = freshPath();
    mkdirSync(dirname(path), { recursive: true });
    const old = new DatabaseSync(path);
    old.exec(`CREATE TABLE leads (
      lead_id TEXT PRIMARY KEY,
      status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'retrying', 'completed', 'failed')),
      source TEXT, received_at TEXT NOT NULL, received_at_ms INTEGER NOT NULL, updated_at TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, idempotency_key TEXT, payload TEXT NOT NULL, result TEXT,
      facets TEXT, next_attempt_at TEXT
    ) STRICT`);
    old
      .prepare(
        `INSERT INTO leads (lead_id, status, received_at, received_at_ms, updated_at, attempts, payload)
         VALUES ('old-2', 'running', '2025-03-01T09:00:00.000Z', 1740819600000, '2025-03-01T09:00:01.000Z', 1, '{}')`,
      )
      .run();
    old.close();
    const store = new SqliteLeadStore({ path });
    try {
      await store.markAwaiting("old-2", { path: "qualified" });
      expect(await store.getLead("old-2")).toMatchObject({ status: "awaiting", attempts: 1 });
    } finally {
      await store.close();
    }
  });

  it("runs in memory", async () => {
    const store = new SqliteLeadStore({ path: ":memory:" });
    await store.createLead({ leadId: "m-1", receivedAt: "2025-03-01T09:00:00.000Z", payload: {} });
    expect((await store.listLeads()).leads.map((l) => l.leadId)).toEqual(["m-1"]);
    await store.close();
  });

  it("shares a connection it does not close, even inside the owner's open transaction", async () => {
    const db = new DatabaseSync(":memory:");
    const store = new SqliteLeadStore({ db });
    db.exec("BEGIN");
    expect(await store.claimIdempotencyKey("k", "l-1")).toEqual({ claimed: true });
    expect(await store.counters.increment("c")).toBe(1);
    db.exec("COMMIT");
    expect(await store.claimIdempotencyKey("k", "l-2")).toEqual({ claimed: false, leadId: "l-1" });
    await store.close();
    expect(db.isOpen).toBe(true);
    expect(db.prepare("SELECT COUNT(*) AS n FROM idempotency").get()).toEqual({ n: 1 });
    db.close();
  });

  it("needs a path or a connection", () => {
    expect(() => new SqliteLeadStore({})).toThrow(TypeError);
  });
});
