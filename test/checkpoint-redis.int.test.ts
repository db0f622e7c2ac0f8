import { randomUUID } from "node:crypto";
import type { StateSnapshot } from "@langchain/langgraph";
import { type CheckpointTuple, ERROR, emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import { validate } from "@langchain/langgraph-checkpoint-validation";
import { Redis } from "ioredis";
import { describe, expect, it, vi } from "vitest";
import { RedisSaver } from "../graph/checkpoint/redis-saver.ts";
import { isPrunableSaver } from "../graph/checkpoint/types.ts";
import { buildFlakyGraph, listThread } from "./helpers/flaky-graph.ts";
import { startRedis, type TestRedis } from "./helpers/redis-server.ts";

let server: TestRedis;
let redis: Redis;

// The suite's beforeAll/afterAll run at file level, so the private server also serves the tests below.
validate<RedisSaver>({
  checkpointerName: "leadgraph-redis",
  beforeAll: async () => {
    server = await startRedis();
    redis = new Redis(server.url);
  },
  beforeAllTimeout: 20_000,
  afterAll: async () => {
    await redis?.quit();
    await server?.stop();
  },
  // A prefix per instance keeps instances apart on one server without flushing it.
  createCheckpointer: () => new RedisSaver({ redis, prefix: `t-${randomUUID()}` }),
});

// The same suite on a saver that holds a task's ordinary writes for the next checkpoint (the runtime's).
validate<RedisSaver>({
  checkpointerName: "leadgraph-redis, writes held for the next checkpoint",
  createCheckpointer: () => new RedisSaver({ redis, prefix: `t-${randomUUID()}`, holdWrites: true }),
});

/** The part of a key Redis Cluster hashes: between the first "{" and the next "}", if not empty. */
function hashTag(key: string): string {
  const open = key.indexOf("{");
  const close = open === -1 ? -1 : key.indexOf("}", open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

async function commandCalls(admin: Redis): Promise<Record<string, number>> {
  const info = await admin.info("commandstats");
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    const [, name, count] = match;
    // The admin connection's own INFO and CONFIG (named "config|resetstat" by Redis 7) are not the saver's.
    if (name !== undefined && !/^(info|config)\b/.test(name)) calls[name] = Number(count);
  }
  return calls;
}

describe("RedisSaver", () => {
  it("resumes a failed run at the failed node without re-running the finished ones", async () => {
    const saver = new RedisSaver({ redis, prefix: `t-${randomUUID()}` });
    const { graph, calls } = buildFlakyGraph(saver, 1);
    const config = { configurable: { thread_id: "lead-1" } };

    await expect(graph.invoke({ trail: [] }, config)).rejects.toThrow("flaky failed");
    const result = await graph.invoke(null, config);

    expect(result.trail).toEqual(["first", "flaky", "inner", "last"]);
    expect(calls).toEqual({ first: 1, flaky: 2, last: 1 });
  });

  it("resumes through a new client, as a worker taking over after a crash would", async () => {
    const prefix = `t-${randomUUID()}`;
    const config = { configurable: { thread_id: "lead-2" } };
    const crashed = new RedisSaver({ redis: server.url, prefix });
    await expect(buildFlakyGraph(crashed, 1).graph.invoke({ trail: [] }, config)).rejects.toThrow(
      "flaky failed",
    );
    await crashed.close();

    const worker = new RedisSaver({ redis: server.url, prefix });
    const { graph, calls } = buildFlakyGraph(worker, 0);
    const result = await graph.invoke(null, config);

    expect(result.trail).toEqual(["first", "flaky", "inner", "last"]);
    expect(calls).toEqual({ first: 0, flaky: 1, last: 1 });
    await worker.close();
  });

  it("keeps every key of a thread in one hash slot, whatever the thread id", async () => {
    const prefix = `t-${randomUUID()}`;
    const saver = new RedisSaver({ redis, prefix });
    const { graph } = buildFlakyGraph(saver, 0);
    const threadIds = ["lead-3", "{odd}-thread}", "", "~tilde"];
    for (const threadId of threadIds)
      await graph.invoke({ trail: [] }, { configurable: { thread_id: threadId } });

    const keys = await redis.keys(`${prefix}:*`);
    const tags = new Set(keys.map(hashTag));
    expect(tags.size).toBe(threadIds.length);
    for (const key of keys) expect(key.startsWith(`${prefix}:{${hashTag(key)}}:`)).toBe(true);
    // One key per thread; namespaces (the subgraph's "last:<task>") live inside it.
    expect(keys).toHaveLength(threadIds.length);
    for (const key of keys) expect(key).toMatch(/\}:cp$/);
    const fields = (
      await Promise.all(keys.filter((key) => key.endsWith(":cp")).map((key) => redis.hkeys(key)))
    ).flat();
    expect(fields.some((field) => field.startsWith("c\0"))).toBe(true);
    expect(fields.some((field) => /^clast:[^\0]+\0/.test(field))).toBe(true);

    const listed = new Set<string>();
    for await (const tuple of saver.list({}, { filter: { source: "input" } })) {
      listed.add(String(tuple.config.configurable?.thread_id));
    }
    expect([...listed].sort()).toEqual([...threadIds].sort());
    for (const threadId of threadIds) {
      expect(
        (await saver.getTuple({ configurable: { thread_id: threadId } }))?.checkpoint.channel_values,
      ).toEqual({
        trail: ["first", "flaky", "inner", "last"],
      });
    }
  });

  it("stores a checkpoint in one command and a task's writes in one per kind of write", async () => {
    const client = new Redis(server.url);
    const admin = new Redis(server.url);
    try {
      const saver = new RedisSaver({ redis: client, prefix: `t-${randomUUID()}` });
      await client.ping();
      const writesToSocket = vi.spyOn(client.stream, "write");
      await admin.config("RESETSTAT");

      const config = await saver.put(
        { configurable: { thread_id: "lead-4", checkpoint_ns: "" } },
        { ...emptyCheckpoint(), channel_values: { a: 1, b: 2 }, channel_versions: { a: 1, b: 1, c: 1 } },
        { source: "loop", step: 0, parents: {} },
        { a: 1, b: 1, c: 1 },
      );
      expect(writesToSocket).toHaveBeenCalledTimes(1);
      // Values and checkpoint in one HSET.
      expect(await commandCalls(admin)).toEqual({ hset: 1 });

      writesToSocket.mockClear();
      await admin.config("RESETSTAT");
      await saver.putWrites(
        config,
        [
          ["a", 2],
          ["b", 3],
          [ERROR, { message: "boom" }],
        ],
        "task-1",
      );
      expect(writesToSocket).toHaveBeenCalledTimes(1);
      // The ordinary writes together (first call wins), the error on its own (latest wins).
      expect(await commandCalls(admin)).toEqual({ hsetnx: 1, hset: 1 });
      writesToSocket.mockRestore();
    } finally {
      client.disconnect();
      admin.disconnect();
    }
  });

  it("with holdWrites, stores a task's ordinary writes in the HSET of the next checkpoint", async () => {
    const client = new Redis(server.url);
    const admin = new Redis(server.url);
    try {
      const saver = new RedisSaver({ redis: client, prefix: `t-${randomUUID()}`, holdWrites: true });
      await client.ping();
      const thread = { configurable: { thread_id: "lead-5", checkpoint_ns: "" } };
      const first = await saver.put(
        thread,
        { ...emptyCheckpoint(), id: uuid6(-1), channel_values: { a: 1 }, channel_versions: { a: 1 } },
        { source: "loop", step: 0, parents: {} },
        { a: 1 },
      );
      await admin.config("RESETSTAT");
      await saver.putWrites(first, [["a", 2]], "task-1");
      await saver.putWrites(first, [["a", 3]], "task-1");
      // Held: nothing sent yet.
      expect(await commandCalls(admin)).toEqual({});
      await saver.put(
        first,
        { ...emptyCheckpoint(), id: uuid6(-1), channel_values: { a: 2 }, channel_versions: { a: 2 } },
        { source: "loop", step: 1, parents: {} },
        { a: 2 },
      );
      // The next checkpoint, its values and the held writes: one HSET.
      expect(await commandCalls(admin)).toEqual({ hset: 1 });
      // A retried task kept its first writes, as with HSETNX.
      const stored = await saver.getTuple(first);
      expect(stored?.pendingWrites).toEqual([["task-1", "a", 2]]);

      // A special write is stored at once, with what is held for its checkpoint.
      const other = await saver.put(
        { configurable: { thread_id: "lead-6", checkpoint_ns: "" } },
        { ...emptyCheckpoint(), id: uuid6(-1) },
        { source: "loop", step: 0, parents: {} },
        {},
      );
      await saver.putWrites(other, [["a", 7]], "task-a");
      await admin.config("RESETSTAT");
      await saver.putWrites(other, [[ERROR, { message: "boom" }]], "task-b");
      expect(await commandCalls(admin)).toEqual({ hset: 2 });
      expect((await saver.getTuple(other))?.pendingWrites).toEqual([
        ["task-a", "a", 7],
        ["task-b", ERROR, { message: "boom" }],
      ]);
    } finally {
      client.disconnect();
      admin.disconnect();
    }
  });

  it("with holdWrites, another process resumes a failed run at the failed node", async () => {
    const prefix = `t-${randomUUID()}`;
    const saver = new RedisSaver({ redis: server.url, prefix, holdWrites: true });
    const { graph, calls } = buildFlakyGraph(saver, 1);
    const config = { configurable: { thread_id: "lead-7" } };
    await expect(graph.invoke({ trail: [] }, config)).rejects.toThrow("flaky failed");
    // Another process (a new client) finds the failed step's error and the finished steps.
    const worker = new RedisSaver({ redis: server.url, prefix, holdWrites: true });
    const resumed = buildFlakyGraph(worker, 0);
    const result = await resumed.graph.invoke(null, config);
    expect(result.trail).toEqual(["first", "flaky", "inner", "last"]);
    expect(calls).toEqual({ first: 1, flaky: 1, last: 0 });
    expect(resumed.calls).toEqual({ first: 0, flaky: 1, last: 1 });
    await saver.close();
    await worker.close();
  });

  it("prunes a finished thread to its newest checkpoints, keeps its final state and drops unused values", async () => {
    const prefix = `t-${randomUUID()}`;
    const saver = new RedisSaver({ redis, prefix });
    expect(isPrunableSaver(saver)).toBe(true);
    const { graph } = buildFlakyGraph(saver, 0);
    const done = { configurable: { thread_id: "lead-done" } };
    await graph.invoke({ trail: [] }, done);
    await graph.invoke({ trail: [] }, { configurable: { thread_id: "lead-other" } });
    const finalState = (await saver.getTuple(done))?.checkpoint;
    const threadKeys = () => redis.keys(`${prefix}:{lead-done}:*`);
    const fieldsOf = async (kind: "c" | "v" | "w") =>
      (await redis.hkeys(`${prefix}:{lead-done}:cp`)).filter((field) => field.startsWith(kind)).length;
    const blobFields = () => fieldsOf("v");
    const rootCount = (await listThread(saver, "lead-done", "")).length;
    const childNs = (await listThread(saver, "lead-done")).find(
      (t) => t.config.configurable?.checkpoint_ns !== "",
    )?.config.configurable?.checkpoint_ns as string;
    const childCount = (await listThread(saver, "lead-done", childNs)).length;
    expect(rootCount).toBe(5);
    expect(childCount).toBeGreaterThan(2);
    const fieldsBefore = await blobFields();
    const writesBefore = await fieldsOf("w");
    expect(writesBefore).toBeGreaterThan(0);

    expect(await saver.prune("lead-done", { keepLast: 2 })).toBe(rootCount - 2 + childCount - 2);

    expect((await listThread(saver, "lead-done", "")).length).toBe(2);
    expect((await listThread(saver, "lead-done", childNs)).length).toBe(2);
    expect((await saver.getTuple(done))?.checkpoint).toEqual(finalState);
    const [latest, previous] = await listThread(saver, "lead-done", "");
    expect(previous?.checkpoint.id).toBe(latest?.parentConfig?.configurable?.checkpoint_id);
    expect(previous?.checkpoint.channel_values.trail).toEqual(["first", "flaky"]);
    expect(await blobFields()).toBeLessThan(fieldsBefore);
    expect(await fieldsOf("w")).toBeLessThan(writesBefore);
    expect(await fieldsOf("c")).toBe(4);
    expect((await listThread(saver, "lead-other", "")).length).toBe(5);

    expect(await saver.prune("lead-done")).toBe(2);
    expect((await saver.getTuple(done))?.checkpoint).toEqual(finalState);
    // The thread is still one key, holding only the kept checkpoints, their values and their writes.
    expect(await threadKeys()).toEqual([`${prefix}:{lead-done}:cp`]);
    expect(await fieldsOf("c")).toBe(2);
    const kept = new Set((await listThread(saver, "lead-done")).map((t) => t.checkpoint.id));
    for (const field of await redis.hkeys(`${prefix}:{lead-done}:cp`)) {
      if (field.startsWith("w")) expect(kept).toContain(JSON.parse(field.slice(1))[1]);
    }

    expect(await saver.prune("lead-done", { keepLast: 0 })).toBe(2);
    expect(await saver.getTuple(done)).toBeUndefined();
    expect(await threadKeys()).toEqual([]);
    await expect(saver.prune("lead-done", { keepLast: 1.5 })).rejects.toThrow(RangeError);
  });

  it("bundles a pruned thread's values, and a later step still finds the unchanged ones", async () => {
    const prefix = `t-${randomUUID()}`;
    const saver = new RedisSaver({ redis, prefix });
    const meta = { source: "loop" as const, step: 0, parents: {} };
    const root = { configurable: { thread_id: "lead-later", checkpoint_ns: "" } };
    const big = "x".repeat(2000);
    const first = await saver.put(
      root,
      {
        ...emptyCheckpoint(),
        id: uuid6(0),
        channel_values: { a: 1, b: big },
        channel_versions: { a: 1, b: 1 },
      },
      meta,
      { a: 1, b: 1 },
    );
    expect(await saver.prune("lead-later")).toBe(0);
    const fields = await redis.hkeys(`${prefix}:{lead-later}:cp`);
    expect(fields.map((field) => field[0]).sort()).toEqual(["b", "c"]);
    expect((await saver.getTuple(root))?.checkpoint.channel_values).toEqual({ a: 1, b: big });
    // The bundle is deflated: far smaller than the value it holds.
    expect(await redis.hstrlen(`${prefix}:{lead-later}:cp`, "b")).toBeLessThan(200);

    // b changes, a does not: a is read from the bundle.
    const second = await saver.put(
      first,
      {
        ...emptyCheckpoint(),
        id: uuid6(1),
        channel_values: { a: 1, b: "short" },
        channel_versions: { a: 1, b: 2 },
      },
      { ...meta, step: 1 },
      { b: 2 },
    );
    expect((await saver.getTuple(second))?.checkpoint.channel_values).toEqual({ a: 1, b: "short" });
    expect((await saver.getTuple(first))?.checkpoint.channel_values).toEqual({ a: 1, b: big });

    expect(await saver.prune("lead-later")).toBe(1);
    expect((await saver.getTuple(root))?.checkpoint.channel_values).toEqual({ a: 1, b: "short" });
    expect((await redis.hkeys(`${prefix}:{lead-later}:cp`)).map((field) => field[0]).sort()).toEqual([
      "b",
      "c",
    ]);
  });

  it("keeps a fork's values apart from the branch it forked from", async () => {
    const saver = new RedisSaver({ redis, prefix: `t-${randomUUID()}` });
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
    const saver = new RedisSaver({ redis, prefix: `t-${randomUUID()}` });
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

    // As MemorySaver: a later call's writes at indexes the first call did not have are added.
    await saver.putWrites(
      config,
      [
        ["trail", "again"],
        ["note", "added"],
      ],
      "task-a",
    );
    await saver.putWrites(config, [["trail", "other task"]], "task-b");
    expect((await saver.getTuple(config))?.pendingWrites).toEqual([
      ["task-a", ERROR, { message: "two" }],
      ["task-a", "trail", "first"],
      ["task-a", "note", "added"],
      ["task-b", "trail", "other task"],
    ]);
  });

  it("lists a checkpoint asked for by id even when it is not among the newest", async () => {
    const saver = new RedisSaver({ redis, prefix: `t-${randomUUID()}` });
    await buildFlakyGraph(saver, 0).graph.invoke({ trail: [] }, { configurable: { thread_id: "lead-5" } });
    const oldest = (await listThread(saver, "lead-5", "")).at(-1);
    const checkpointId = oldest?.checkpoint.id;

    const found: CheckpointTuple[] = [];
    for await (const tuple of saver.list(
      { configurable: { thread_id: "lead-5", checkpoint_ns: "", checkpoint_id: checkpointId } },
      { limit: 1 },
    )) {
      found.push(tuple);
    }

    expect(found).toEqual([oldest]);
  });

  it("stores binary values byte for byte", async () => {
    const saver = new RedisSaver({ redis, prefix: `t-${randomUUID()}` });
    const bytes = new Uint8Array([0, 255, 13, 10, 0, 128]);
    const config = await saver.put(
      { configurable: { thread_id: "bin" } },
      { ...emptyCheckpoint(), channel_values: { raw: bytes }, channel_versions: { raw: 1 } },
      { source: "loop", step: 0, parents: {} },
      { raw: 1 },
    );
    await saver.putWrites(config, [["raw", bytes]], "task-b");

    const tuple = await saver.getTuple(config);
    expect(tuple?.checkpoint.channel_values.raw).toEqual(bytes);
    expect(tuple?.pendingWrites).toEqual([["task-b", "raw", bytes]]);
  });
});
