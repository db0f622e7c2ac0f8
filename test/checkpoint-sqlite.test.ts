import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { StateSnapshot } from "@langchain/langgraph";
import { ERROR, emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import { validate } from "@langchain/langgraph-checkpoint-validation";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteSaver } from "../graph/checkpoint/sqlite-saver.ts";
import { isPrunableSaver } from "../graph/checkpoint/types.ts";
import { buildFlakyGraph, listThread } from "./helpers/flaky-graph.ts";

const dir = mkdtempSync(join(tmpdir(), "leadgraph-checkpoint-"));
let files = 0;
const freshPath = () => join(dir, `nested-${++files}`, "checkpoints.db");

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

// Each instance gets its own in-memory database, which is the isolation the suite asks for.
validate<SqliteSaver>({
  checkpointerName: "leadgraph-sqlite",
  createCheckpointer: () => new SqliteSaver({ path: ":memory:" }),
  destroyCheckpointer: (saver) => saver.close(),
});

describe("SqliteSaver", () => {
  it("resumes a failed run at the failed node without re-running the finished ones", async () => {
    const saver = new SqliteSaver({ path: ":memory:" });
    const { graph, calls } = buildFlakyGraph(saver, 1);
    const config = { configurable: { thread_id: "lead-1" } };

    await expect(graph.invoke({ trail: [] }, config)).rejects.toThrow("flaky failed");
    const result = await graph.invoke(null, config);

    expect(result.trail).toEqual(["first", "flaky", "inner", "last"]);
    expect(calls).toEqual({ first: 1, flaky: 2, last: 1 });
    await saver.close();
  });

  it("resumes from the file after the process that failed closed it", async () => {
    const path = freshPath();
    const config = { configurable: { thread_id: "lead-2" } };
    const before = new SqliteSaver({ path });
    await expect(buildFlakyGraph(before, 1).graph.invoke({ trail: [] }, config)).rejects.toThrow(
      "flaky failed",
    );
    await before.close();

    const after = new SqliteSaver({ path });
    const { graph, calls } = buildFlakyGraph(after, 0);
    const result = await graph.invoke(null, config);

    expect(result.trail).toEqual(["first", "flaky", "inner", "last"]);
    expect(calls).toEqual({ first: 0, flaky: 1, last: 1 });
    await after.close();
  });

  it("prunes a finished thread to its newest checkpoints, keeps its final state and drops unused values", async () => {
    const db = new DatabaseSync(":memory:");
    const saver = new SqliteSaver({ db });
    expect(isPrunableSaver(saver)).toBe(true);
    const { graph } = buildFlakyGraph(saver, 0);
    const done = { configurable: { thread_id: "lead-done" } };
    const other = { configurable: { thread_id: "lead-other" } };
    await graph.invoke({ trail: [] }, done);
    await graph.invoke({ trail: [] }, other);
    const finalState = (await saver.getTuple(done))?.checkpoint;
    const rows = (table: string, threadId: string) =>
      Number(db.prepare(`SELECT count(*) AS n FROM ${table} WHERE thread_id = ?`).get(threadId)?.n);
    const blobsBefore = rows("lg_checkpoint_blobs", "lead-done");
    const rootCount = (await listThread(saver, "lead-done", "")).length;
    const childNs = (await listThread(saver, "lead-done")).find(
      (t) => t.config.configurable?.checkpoint_ns !== "",
    )?.config.configurable?.checkpoint_ns as string;
    const childCount = (await listThread(saver, "lead-done", childNs)).length;
    expect(rootCount).toBe(5);
    expect(childCount).toBeGreaterThan(2);

    expect(await saver.prune("lead-done", { keepLast: 2 })).toBe(rootCount - 2 + childCount - 2);

    expect((await listThread(saver, "lead-done", "")).length).toBe(2);
    expect((await listThread(saver, "lead-done", childNs)).length).toBe(2);
    expect((await saver.getTuple(done))?.checkpoint).toEqual(finalState);
    const [latest, previous] = await listThread(saver, "lead-done", "");
    expect(previous?.checkpoint.id).toBe(latest?.parentConfig?.configurable?.checkpoint_id);
    expect(previous?.checkpoint.channel_values.trail).toEqual(["first", "flaky"]);
    expect(previous?.pendingWrites?.length).toBeGreaterThan(0);
    expect(rows("lg_checkpoint_blobs", "lead-done")).toBeLessThan(blobsBefore);
    expect((await listThread(saver, "lead-other", "")).length).toBe(5);

    expect(await saver.prune("lead-done")).toBe(2);
    expect((await saver.getTuple(done))?.checkpoint).toEqual(finalState);
    const liveWrites = (await listThread(saver, "lead-done")).reduce(
      (n, t) => n + (t.pendingWrites?.length ?? 0),
      0,
    );
    expect(rows("lg_checkpoint_writes", "lead-done")).toBe(liveWrites);

    expect(await saver.prune("lead-done", { keepLast: 0 })).toBe(2);
    expect(await saver.getTuple(done)).toBeUndefined();
    expect(rows("lg_checkpoint_blobs", "lead-done")).toBe(0);
    expect(rows("lg_checkpoint_writes", "lead-done")).toBe(0);
    await expect(saver.prune("lead-done", { keepLast: -1 })).rejects.toThrow(RangeError);
    await saver.close();
    expect(db.isOpen).toBe(true);
    db.close();
  });

  it("keeps a fork's values apart from the branch it forked from", async () => {
    const saver = new SqliteSaver({ path: ":memory:" });
    const { graph } = buildFlakyGraph(saver, 0);
    const config = { configurable: { thread_id: "lead-fork" } };
    await graph.invoke({ trail: [] }, config);
    const original = await graph.getState(config);
    let beforeLast: StateSnapshot | undefined;
    for await (const snapshot of graph.getStateHistory(config)) {
      if (snapshot.next.includes("last")) beforeLast = snapshot;
    }

    // The fork's checkpoint gets the same step number as one on the original branch; its channel versions
    // must still differ, or the fork would read the original branch's stored values.
    const forked = await graph.updateState(beforeLast!.config, { trail: ["edited"] }, "flaky");

    expect((await graph.getState(forked)).values.trail).toEqual(["first", "flaky", "edited"]);
    expect((await graph.getState(original.config)).values.trail).toEqual(["first", "flaky", "inner", "last"]);
  });

  it("keeps a task's first ordinary writes but always the latest special write", async () => {
    const saver = new SqliteSaver({ path: ":memory:" });
    const config = await saver.put(
      { configurable: { thread_id: "t", checkpoint_ns: "" } },
      { ...emptyCheckpoint(), id: uuid6(0) },
      { source: "loop", step: 0, parents: {} },
      {},
    );
    await saver.putWrites(config, [["trail", "first"]], "task-a");
    await saver.putWrites(config, [["trail", "retried"]], "task-a");
    await saver.putWrites(config, [[ERROR, { message: "one" }]], "task-a");
    await saver.putWrites(config, [[ERROR, { message: "two" }]], "task-a");

    expect((await saver.getTuple(config))?.pendingWrites).toEqual([
      ["task-a", ERROR, { message: "two" }],
      ["task-a", "trail", "first"],
    ]);
    await saver.close();
  });

  it("writes steps plainly, deflates the long values prune keeps, and reads both forms", async () => {
    const db = new DatabaseSync(":memory:");
    const saver = new SqliteSaver({ db });
    const long = { text: "lead ".repeat(400) };
    const config = await saver.put(
      { configurable: { thread_id: "z", checkpoint_ns: "" } },
      {
        ...emptyCheckpoint(),
        id: uuid6(0),
        channel_values: { long, short: 1 },
        channel_versions: { long: 1, short: 1 },
      },
      { source: "loop", step: 0, parents: {} },
      { long: 1, short: 1 },
    );
    await saver.putWrites(config, [["long", long]], "task-z");
    const blobs = () =>
      db
        .prepare("SELECT channel, type, length(blob) AS size FROM lg_checkpoint_blobs ORDER BY channel")
        .all();
    expect(blobs()).toEqual([
      { channel: "long", type: "json", size: JSON.stringify(long).length },
      { channel: "short", type: "json", size: 1 },
    ]);
    expect(db.prepare("SELECT type FROM lg_checkpoint_writes").get()).toEqual({ type: "json" });
    expect((await saver.getTuple(config))?.checkpoint.channel_values).toEqual({ long, short: 1 });

    expect(await saver.prune("z", { keepLast: 1 })).toBe(0);
    expect(blobs()).toEqual([
      { channel: "long", type: "deflate:json", size: expect.any(Number) },
      { channel: "short", type: "json", size: 1 },
    ]);
    expect(Number(blobs()[0]?.size)).toBeLessThan(100);
    const tuple = await saver.getTuple(config);
    expect(tuple?.checkpoint.channel_values).toEqual({ long, short: 1 });
    expect(tuple?.pendingWrites).toEqual([["task-z", "long", long]]);
    // Pruning again finds nothing left to deflate.
    await saver.prune("z", { keepLast: 1 });
    expect(blobs()[0]).toMatchObject({ type: "deflate:json" });

    // A row written before compression existed: plain type, plain bytes.
    db.prepare("UPDATE lg_checkpoint_blobs SET type = 'json', blob = ? WHERE channel = 'long'").run(
      new TextEncoder().encode(JSON.stringify(long)),
    );
    expect((await saver.getTuple(config))?.checkpoint.channel_values).toEqual({ long, short: 1 });
    await saver.close();
    db.close();
  });
});
