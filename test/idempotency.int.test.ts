/**
 * The idempotency key: what it is made of, and how long it holds (72 hours, as the README promises) in both
 * stores. Each test here catches a change the rest of the suite let through: the key's default TTL cut to
 * 60 s, and the form dropped from the hash.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { idempotencyKeyOf } from "../app/idempotency.ts";
import { RedisLeadStore } from "../store/redis-lead-store.ts";
import { SqliteLeadStore } from "../store/sqlite-lead-store.ts";
import { startService, type TestService } from "./helpers/app.ts";
import { startRedis, type TestRedis } from "./helpers/redis-server.ts";

const HOUR_MS = 3600 * 1000;

describe("the key of a delivery without Idempotency-Key or event id", () => {
  const key = (lead: { email: string; campaign?: string; form?: string }) =>
    idempotencyKeyOf(undefined, {}, lead);

  it("is the email, campaign and form together, hashed", () => {
    const base = { email: "ada@example.com", campaign: "spring", form: "demo" };
    expect(key(base)).toMatch(/^lead:[0-9a-f]{64}$/);
    expect(key(base)).not.toContain("ada");
    expect(key({ ...base })).toBe(key(base));
    expect(key({ ...base, form: "pricing" })).not.toBe(key(base));
    expect(key({ ...base, campaign: "autumn" })).not.toBe(key(base));
    expect(key({ ...base, email: "bob@example.com" })).not.toBe(key(base));
    // The fields stay apart: moving text from the campaign to the form is another key.
    expect(key({ email: base.email, campaign: "a", form: "b" })).not.toBe(
      key({ email: base.email, campaign: "", form: "ab" }),
    );
  });

  it("gives way to the sender's key, then to HubSpot's event id", () => {
    const lead = { email: "ada@example.com" };
    expect(idempotencyKeyOf(" delivery-7 ", {}, lead)).toBe("key:delivery-7");
    expect(idempotencyKeyOf(undefined, [{ eventId: 42, portalId: 7 }], lead)).toBe("hubspot-event:7:42");
  });
});

describe("the same person through the webhook", () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService();
  });
  afterAll(async () => {
    await service.close();
  });

  function post(payload: Record<string, unknown>) {
    return service.app.inject({ method: "POST", url: "/webhooks/lead", payload });
  }

  it("is one lead per form: a second form is a new lead, the same form again a duplicate", async () => {
    const lead = { email: "two.forms@bramblewick.com", company: "Bramblewick", campaign: "spring" };
    const demo = await post({ ...lead, form: "demo-request" });
    const pricing = await post({ ...lead, form: "pricing" });
    expect(demo.statusCode).toBe(202);
    expect(pricing.statusCode).toBe(202);
    expect(pricing.json().leadId).not.toBe(demo.json().leadId);
    const again = await post({ ...lead, form: "demo-request" });
    expect(again.statusCode).toBe(200);
    expect(again.json().leadId).toBe(demo.json().leadId);
  });
});

describe("the key's lifetime", () => {
  it("SQLite: holds 72 hours by default, then lets the key be claimed again", async () => {
    const dir = mkdtempSync(join(tmpdir(), "leadgraph-idem-"));
    let now = Date.parse("2025-03-01T09:00:00Z");
    const store = new SqliteLeadStore({ path: join(dir, "leads.db"), clock: () => new Date(now) });
    try {
      expect(await store.claimIdempotencyKey("k", "lead-a")).toEqual({ claimed: true });
      now += 71 * HOUR_MS + 59 * 60 * 1000;
      expect(await store.claimIdempotencyKey("k", "lead-b")).toEqual({ claimed: false, leadId: "lead-a" });
      now += 2 * 60 * 1000;
      expect(await store.claimIdempotencyKey("k", "lead-c")).toEqual({ claimed: true });
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("Redis", () => {
    let redis: TestRedis;
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(async () => {
      await redis?.stop();
    });

    it("holds 72 hours by default (the key's TTL)", async () => {
      const client = new Redis(redis.url);
      const store = new RedisLeadStore({ redis: client, prefix: "idem-test" });
      try {
        expect(await store.claimIdempotencyKey("k", "lead-a")).toEqual({ claimed: true });
        const keys = await client.keys("idem-test*");
        expect(keys).toHaveLength(1);
        const ttl = await client.pttl(keys[0] as string);
        expect(ttl).toBeGreaterThan(71 * HOUR_MS);
        expect(ttl).toBeLessThanOrEqual(72 * HOUR_MS);
      } finally {
        await store.close();
        client.disconnect();
      }
    });
  });
});
