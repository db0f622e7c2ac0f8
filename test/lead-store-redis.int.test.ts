import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisLeadStore } from "../tools/store/redis-lead-store.ts";
import { freePort, startRedis, type TestRedis } from "./helpers/redis-server.ts";
import { runLeadStoreContract } from "./lead-store.contract.ts";

let server: TestRedis;

beforeAll(async () => {
  server = await startRedis();
});

afterAll(async () => {
  await server?.stop();
});

runLeadStoreContract("redis", async () => {
  // A prefix per test keeps tests apart on one server without flushing it.
  const prefix = `t-${randomUUID()}`;
  return {
    store: new RedisLeadStore({ redis: server.url, prefix }),
    twin: async () => new RedisLeadStore({ redis: server.url, prefix }),
  };
});

describe("RedisLeadStore", () => {
  it("keeps every key under its prefix and each lead in exactly one status index", async () => {
    const redis = new Redis(server.url);
    const store = new RedisLeadStore({ redis, prefix: "{acme}" });
    const before = new Set(await redis.keys("*"));
    try {
      await store.createLead({ leadId: "l-1", receivedAt: "2025-03-01T09:00:00.000Z", payload: {} });
      await store.createLead({ leadId: "l-2", receivedAt: "2025-03-01T09:00:01.000Z", payload: {} });
      await store.markRunning("l-1");
      await store.markFailed("l-1", { message: "boom" });
      await store.appendTimeline("l-1", {
        node: "capture",
        startedAt: "2025-03-01T09:00:00.000Z",
        status: "ok",
      });
      await store.claimIdempotencyKey("k", "l-1");
      await store.counters.increment("c", 60);
      await store.ledger.once("l-1:slack", async () => "ts");

      const added = (await redis.keys("*")).filter((k) => !before.has(k));
      expect(added.length).toBeGreaterThan(0);
      expect(added.filter((k) => !k.startsWith("{acme}:"))).toEqual([]);
      expect(await redis.zrange("{acme}:leads:failed", 0, -1)).toEqual(["l-1"]);
      expect(await redis.zrange("{acme}:leads:queued", 0, -1)).toEqual(["l-2"]);
      expect(await redis.zcard("{acme}:leads:running")).toBe(0);
      expect(await redis.zrange("{acme}:leads", 0, -1)).toEqual(["l-1", "l-2"]);
      expect(await redis.exists("{acme}:ledger-lock:l-1:slack")).toBe(0);
      const ttl = await redis.pttl("{acme}:counter:c");
      expect(ttl).toBeGreaterThan(50_000);
    } finally {
      await store.close();
      // A client passed in belongs to the caller.
      expect(await redis.ping()).toBe("PONG");
      redis.disconnect();
    }
  });

  it("answers a ping with false, quickly, when Redis is unreachable", async () => {
    const port = await freePort();
    const redis = new Redis({ port, host: "127.0.0.1", lazyConnect: true, retryStrategy: () => 200 });
    redis.on("error", () => undefined);
    const store = new RedisLeadStore({ redis, pingTimeoutMs: 200 });
    expect(await store.ping()).toBe(false);
    redis.disconnect();
  });
});
