import { randomUUID } from "node:crypto";
import { deflateRawSync } from "node:zlib";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { personKey } from "../domain/routing/sticky.ts";
import { RedisLeadStore } from "../store/redis-lead-store.ts";
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
    async expireLedgerClaim(key) {
      const redis = new Redis(server.url);
      const [leadId, ...effect] = key.split(":");
      const hash = `${prefix}:ledger:${leadId}`;
      const field = `?${effect.join(":")}`;
      const claim = await redis.hget(hash, field);
      if (claim?.startsWith("?")) await redis.hset(hash, field, claim.replace(/^\?\d+:/, "?0:"));
      redis.disconnect();
    },
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
      // One hash per lead; per effect, its result and its last claim (the mark of an attempt).
      expect(await redis.hgetall("{acme}:ledger:l-1")).toEqual({
        slack: '{"v":"ts"}',
        "?slack": expect.stringMatching(/^\?\d+:[0-9a-f-]{36}$/),
      });
      expect(await redis.pttl("{acme}:ledger:l-1")).toBe(-1);
      const ttl = await redis.pttl("{acme}:counter:c");
      expect(ttl).toBeGreaterThan(50_000);
    } finally {
      await store.close();
      // A client passed in belongs to the caller.
      expect(await redis.ping()).toBe("PONG");
      redis.disconnect();
    }
  });

  it("keys the returning-lead memory by a hash of the email, never the email, with the window as TTL", async () => {
    const redis = new Redis(server.url);
    const store = new RedisLeadStore({ redis, prefix: "{sticky}" });
    try {
      const route = { ownerId: "maya.patel", leadId: "l-1", routedAt: "2025-03-01T09:00:00.000Z" };
      await store.routeMemory.remember(personKey("Jane.Doe+webinar@Acme.com"), route, 90 * 86_400);
      const keys = await redis.keys("{sticky}:person:*");
      expect(keys).toEqual([expect.stringMatching(/^\{sticky\}:person:[0-9a-f]{64}$/)]);
      expect(keys.join()).not.toMatch(/jane|acme/i);
      expect(await redis.pttl(keys[0]!)).toBeGreaterThan(89 * 86_400_000);
      // The same person on another form, in another case.
      expect(await store.routeMemory.recall(personKey("jane.doe@acme.com"))).toEqual(route);
    } finally {
      await store.close();
      redis.disconnect();
    }
  });

  it("runs a lead in few commands: one per timeline step, a script and an HSETNX per effect", async () => {
    const redis = new Redis(server.url);
    const admin = new Redis(server.url);
    const prefix = `t-${randomUUID()}`;
    const store = new RedisLeadStore({ redis, prefix });
    const calls = async (work: () => Promise<unknown>): Promise<Record<string, number>> => {
      await admin.config("RESETSTAT");
      await work();
      const info = await admin.info("commandstats");
      const counted: Record<string, number> = {};
      for (const [, name, count] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
        if (name !== undefined && !/^(info|config)\b/.test(name)) counted[name] = Number(count);
      }
      return counted;
    };
    try {
      await redis.ping();
      const leadId = randomUUID();
      expect(await calls(() => store.claimIdempotencyKey(`k-${leadId}`, leadId))).toEqual({ set: 1 });
      await store.createLead({ leadId, receivedAt: "2025-03-01T09:00:00.000Z", payload: { a: 1 } });
      // The script, the status lookup, the index move and the record update.
      expect(await calls(() => store.beginAttempt(leadId))).toEqual({
        evalsha: 1,
        hgetall: 1,
        zrem: 1,
        zadd: 1,
        hset: 1,
      });
      const step = { node: "capture", startedAt: "2025-03-01T09:00:00.000Z", status: "ok" as const };
      expect(await calls(() => store.appendTimeline(leadId, step))).toEqual({ rpushx: 1 });
      // Claim (read, the server's clock for the lease, write), then store the result (one HSETNX).
      expect(await calls(() => store.ledger.once(`${leadId}:slack`, async () => "ts"))).toEqual({
        evalsha: 1,
        hmget: 1,
        time: 1,
        hset: 1,
        hsetnx: 1,
      });
      // The record and its index, and the ledger's claims dropped (the results stay).
      expect(await calls(() => store.markCompleted(leadId, { path: "qualified" }))).toEqual({
        evalsha: 1,
        hmget: 1,
        zrem: 1,
        zadd: 1,
        hset: 1,
        hkeys: 1,
        hdel: 1,
      });
      expect(await redis.hgetall(`${prefix}:ledger:${leadId}`)).toEqual({ slack: '{"v":"ts"}' });
    } finally {
      await store.close();
      redis.disconnect();
      admin.disconnect();
    }
  });

  it("still keeps the timeline of a lead stored before timelines began with a marker entry", async () => {
    const redis = new Redis(server.url);
    const prefix = `t-${randomUUID()}`;
    const store = new RedisLeadStore({ redis, prefix });
    try {
      await store.createLead({ leadId: "old", receivedAt: "2025-03-01T09:00:00.000Z", payload: {} });
      await redis.del(`${prefix}:timeline:old`);
      const step = { node: "capture", startedAt: "2025-03-01T09:00:00.000Z", status: "ok" as const };
      await store.appendTimeline("old", step);
      await store.appendTimeline("old", { ...step, node: "enrich" });
      expect((await store.getLead("old"))?.timeline.map((entry) => entry.node)).toEqual([
        "capture",
        "enrich",
      ]);
    } finally {
      await store.close();
      redis.disconnect();
    }
  });

  it("still honours a ledger claim stored in the result's field, as before claims had their own", async () => {
    const redis = new Redis(server.url);
    const prefix = `t-${randomUUID()}`;
    const store = new RedisLeadStore({ redis, prefix });
    const hash = `${prefix}:ledger:l-old`;
    try {
      // A live claim of an earlier version's worker: nobody else runs the effect.
      await redis.hset(hash, "slack", `?${Date.now() + 60_000}:old-token`, "crm", "?0:old-token");
      const ran: string[] = [];
      const busy = store.ledger.once("l-old:slack", async () => ran.push("slack"));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(ran).toEqual([]);
      // An ended one marks an attempt: the effect runs, told it may exist, and its result replaces the claim.
      let told: boolean | undefined;
      expect(
        await store.ledger.once("l-old:crm", async ({ mayExist }) => {
          told = mayExist;
          return "c-1";
        }),
      ).toBe("c-1");
      expect(told).toBe(true);
      expect(await redis.hget(hash, "crm")).toBe('{"v":"c-1"}');
      expect(await store.ledger.get("l-old:crm")).toBe("c-1");
      expect(await store.ledger.get("l-old:slack")).toBeUndefined();
      await redis.hset(hash, "slack", '{"v":"ts"}');
      expect(await busy).toBe("ts");
      expect(ran).toEqual([]);
    } finally {
      await store.close();
      redis.disconnect();
    }
  });

  it("drops the claims of effects that have their result when a lead starts waiting, and keeps the others", async () => {
    const redis = new Redis(server.url);
    const prefix = `t-${randomUUID()}`;
    const store = new RedisLeadStore({ redis, prefix });
    const hash = `${prefix}:ledger:l-wait`;
    try {
      await store.createLead({ leadId: "l-wait", receivedAt: "2025-03-01T09:00:00.000Z", payload: {} });
      await store.markRunning("l-wait");
      await store.ledger.once("l-wait:notify", async () => "ts-1");
      // An attempt that failed: its claim stays, as the mark of an attempt that may have taken effect.
      await expect(
        store.ledger.once("l-wait:notify:link", async () => {
          throw new Error("timeout");
        }),
      ).rejects.toThrow("timeout");
      // An earlier version's claim in the result's field is no result.
      await redis.hset(hash, "crm:task", "?0:old-token", "?crm:task", "?0:newer-token");

      await store.markAwaiting("l-wait", { path: "qualified" });

      expect(Object.keys(await redis.hgetall(hash)).sort()).toEqual([
        "?crm:task",
        "?notify:link",
        "crm:task",
        "notify",
      ]);
      // The result still answers; the kept claims still say an attempt may have taken effect.
      expect(await store.ledger.once("l-wait:notify", async () => "ts-2")).toBe("ts-1");
      const told: Array<[string, boolean]> = [];
      for (const effect of ["notify:link", "crm:task"]) {
        await store.ledger.once(`l-wait:${effect}`, async ({ mayExist }) => {
          told.push([effect, mayExist]);
          return "done";
        });
      }
      expect(told).toEqual([
        ["notify:link", true],
        ["crm:task", true],
      ]);
    } finally {
      await store.close();
      redis.disconnect();
    }
  });

  it("stores long JSON fields deflated and reads them back whole", async () => {
    const redis = new Redis(server.url);
    const prefix = `t-${randomUUID()}`;
    const store = new RedisLeadStore({ redis, prefix });
    try {
      const payload = { email: "ada@example.com", notes: "é long form text ".repeat(60) };
      const result = { reasons: Array.from({ length: 30 }, (_, i) => ({ field: `f${i}`, points: i })) };
      await store.createLead({ leadId: "big", receivedAt: "2025-03-01T09:00:00.000Z", payload });
      expect(await store.beginAttempt("big")).toMatchObject({ payload });
      await store.markCompleted("big", result);
      expect(await redis.hstrlen(`${prefix}:lead:big`, "payload")).toBeLessThan(
        JSON.stringify(payload).length / 2,
      );
      expect(await redis.hstrlen(`${prefix}:lead:big`, "result")).toBeLessThan(JSON.stringify(result).length);
      expect(await store.getLead("big")).toMatchObject({ payload, result, status: "completed" });
      expect((await store.listLeads()).leads[0]).toMatchObject({ payload, result });
    } finally {
      await store.close();
      redis.disconnect();
    }
  });

  it("reads JSON fields an earlier version stored deflated without the dictionary, or plain", async () => {
    const redis = new Redis(server.url);
    const prefix = `t-${randomUUID()}`;
    const store = new RedisLeadStore({ redis, prefix });
    try {
      const payload = { email: "ada@example.com", notes: "long form text ".repeat(60) };
      const result = { path: "qualified", ownership: { ownerId: "ana", status: "awaiting" } };
      await store.createLead({ leadId: "old", receivedAt: "2025-03-01T09:00:00.000Z", payload });
      await store.markAwaiting("old", result);
      await redis.hset(
        `${prefix}:lead:old`,
        "payload",
        Buffer.concat([Buffer.of(1), deflateRawSync(JSON.stringify(payload))]),
        "result",
        JSON.stringify(result),
      );
      expect(await store.getLead("old")).toMatchObject({ payload, result, status: "awaiting" });
      expect(await store.beginAttempt("old")).toMatchObject({ payload, result });
    } finally {
      await store.close();
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
