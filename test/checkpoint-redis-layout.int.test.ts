import { randomUUID } from "node:crypto";
import { deflateRawSync } from "node:zlib";
import { Annotation, Command, END, interrupt, START, StateGraph } from "@langchain/langgraph";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { RedisSaver } from "../graph/checkpoint/redis-saver.ts";
import { startRedis, type TestRedis } from "./helpers/redis-server.ts";

let server: TestRedis;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

const Waiting = Annotation.Root({
  /** What the graph did, in order. */
  trail: Annotation<string[]>({ reducer: (left, right) => left.concat(right), default: () => [] }),
  note: Annotation<string>,
});

/** prepare -> ask (waits for a decision, as the owner loop does) -> done. */
function buildWaitingGraph(checkpointer: RedisSaver) {
  return new StateGraph(Waiting)
    .addNode("prepare", async () => ({ trail: ["prepare"], note: "x".repeat(800) }))
    .addNode("ask", async () => {
      const decision = interrupt({ kind: "owner", round: 1 }) as string;
      return { trail: [`ask:${decision}`] };
    })
    .addNode("done", async () => ({ trail: ["done"] }))
    .addEdge(START, "prepare")
    .addEdge("prepare", "ask")
    .addEdge("ask", "done")
    .addEdge("done", END)
    .compile({ checkpointer });
}

/** The 4-byte header length, the JSON header, then the chunks: the saver's value layout. */
function readPacked(body: Buffer): { header: unknown; rest: Buffer } {
  const length = body.readUInt32BE(0);
  return {
    header: JSON.parse(body.toString("utf8", 4, 4 + length)),
    rest: body.subarray(4 + length),
  };
}

function packed(header: unknown, chunks: Buffer[]): Buffer {
  const head = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(head.length);
  return Buffer.concat([length, head, ...chunks]);
}

/** A marker byte 1 (deflated), as the saver's earlier versions wrote what `prune` kept. */
function deflated(body: Buffer): Buffer {
  return Buffer.concat([Buffer.of(1), deflateRawSync(body)]);
}

/**
 * Rewrites an unpruned single-namespace thread the way `prune` wrote it before checkpoints moved into the
 * bundle: the newest checkpoint deflated in its own field, its values in a bundle whose header is the
 * list of values alone, its writes kept, everything else dropped.
 */
async function asEarlierPrune(key: string): Promise<void> {
  const hash = await redis.hgetallBuffer(key);
  const [newest] = Object.keys(hash)
    .filter((field) => field.startsWith("c"))
    .sort()
    .reverse();
  if (newest === undefined) throw new Error("no checkpoint");
  const id = newest.slice(newest.indexOf("\0") + 1);
  const record = (hash[newest] as Buffer).subarray(1);
  const { header, rest } = readPacked(record);
  const [, checkpointLength] = header as [string, number];
  const checkpoint = JSON.parse(rest.subarray(0, checkpointLength).toString("utf8")) as {
    channel_versions: Record<string, number | string>;
  };
  const valuesHeader: Array<[string, string, string, number]> = [];
  const chunks: Buffer[] = [];
  for (const [channel, v] of Object.entries(checkpoint.channel_versions)) {
    const stored = hash[`v${JSON.stringify(["", channel, String(v)])}`];
    if (stored === undefined) continue;
    const value = readPacked(stored.subarray(1));
    valuesHeader.push([channel, String(v), value.header as string, value.rest.byteLength]);
    chunks.push(value.rest);
  }
  const keep = new Set([newest]);
  for (const field of Object.keys(hash)) {
    if (field.startsWith("w") && (JSON.parse(field.slice(1)) as string[])[1] === id) keep.add(field);
  }
  const drop = Object.keys(hash).filter((field) => !keep.has(field));
  await redis.hdel(key, ...drop);
  await redis.hset(key, newest, deflated(record), "b", deflated(packed(valuesHeader, chunks)));
}

describe("RedisSaver, a thread pruned by an earlier version", () => {
  it("reads it, resumes its wait and prunes it into the current layout", async () => {
    const prefix = `t-${randomUUID()}`;
    const saver = new RedisSaver({ redis, prefix, holdWrites: true });
    const graph = buildWaitingGraph(saver);
    const config = { configurable: { thread_id: "lead-upgrade" } };
    const key = `${prefix}:{lead-upgrade}:cp`;
    await graph.invoke({ trail: [] }, config);
    const waiting = await saver.getTuple(config);
    expect(waiting?.pendingWrites?.length).toBeGreaterThan(0);

    await asEarlierPrune(key);
    const fieldKinds = (await redis.hkeys(key)).map((field) => field[0]).sort();
    expect(fieldKinds.filter((kind) => kind !== "w")).toEqual(["b", "c"]);

    // A new process reads the earlier layout as it was.
    const upgraded = new RedisSaver({ redis, prefix, holdWrites: true });
    expect(await upgraded.getTuple(config)).toEqual(waiting);
    const resumed = buildWaitingGraph(upgraded);
    expect((await resumed.getState(config)).tasks[0]?.interrupts[0]?.value).toEqual({
      kind: "owner",
      round: 1,
    });

    const final = await resumed.invoke(new Command({ resume: "accept" }), config);
    expect(final.trail).toEqual(["prepare", "ask:accept", "done"]);
    expect(final.note).toBe("x".repeat(800));

    const before = await upgraded.getTuple(config);
    expect(await upgraded.prune("lead-upgrade")).toBeGreaterThan(0);
    expect(await upgraded.getTuple(config)).toEqual(before);
    expect((await redis.hkeys(key)).map((field) => field[0]).sort()).toEqual(["b", "c"]);
    // Already compact: a second prune changes nothing.
    expect(await upgraded.prune("lead-upgrade")).toBe(0);
    expect((await resumed.getState(config)).values).toEqual(final);
  });
});

describe("RedisSaver, told a thread is new", () => {
  it("answers LangGraph's first read of it without a command, once, and only for that run", async () => {
    const client = new Redis(server.url);
    const admin = new Redis(server.url);
    try {
      await client.ping();
      const prefix = `t-${randomUUID()}`;
      const saver = new RedisSaver({ redis: client, prefix });
      const config = { configurable: { thread_id: "lead-new" } };
      const sent = vi.spyOn(client.stream, "write");
      const end = saver.expectNewThread("lead-new");
      expect(await saver.getTuple(config)).toBeUndefined();
      expect(sent).not.toHaveBeenCalled();
      // The hint is used up: the next read asks Redis.
      expect(await saver.getTuple(config)).toBeUndefined();
      expect(sent).toHaveBeenCalled();
      end();

      // A hint its run ended without using answers nothing afterwards.
      const graph = buildWaitingGraph(saver);
      await graph.invoke({ trail: [] }, config);
      const stored = await saver.getTuple(config);
      saver.expectNewThread("lead-new")();
      expect(await saver.getTuple(config)).toEqual(stored);
      const final = await graph.invoke(new Command({ resume: "accept" }), config);
      expect(final.trail).toEqual(["prepare", "ask:accept", "done"]);
      sent.mockRestore();
    } finally {
      client.disconnect();
      admin.disconnect();
    }
  });
});
