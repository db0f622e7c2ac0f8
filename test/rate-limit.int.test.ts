/**
 * Per-client rate limits in both profiles: the webhook, the admin API, failed admin authentication and 404s
 * answer 429 with Retry-After and our error body once a client is over its limit; other clients are not
 * affected. In the Redis profile the counts are shared by every instance on the same Redis.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_AUTH_FAILURES_PER_MINUTE, NOT_FOUND_PER_MINUTE } from "../http/rate-limit.ts";
import { startService, type TestService } from "./helpers/app.ts";
import { startRedis, type TestRedis } from "./helpers/redis-server.ts";

const TOKEN = "admin-token-0123456789abcdef";
const LIMITS = { WEBHOOK_RATE_LIMIT: "6", ADMIN_RATE_LIMIT: "15", ADMIN_TOKENS: TOKEN };

/** A delivery without an email: refused (422) without touching the store, but counted like any other. */
function deliver(service: TestService, from: string, headers: Record<string, string> = {}) {
  return service.app.inject({
    method: "POST",
    url: "/webhooks/lead",
    remoteAddress: from,
    headers: { "content-type": "application/json", ...headers },
    payload: { first_name: "No email" },
  });
}

function admin(service: TestService, from: string, token = TOKEN) {
  return service.app.inject({
    url: "/admin/leads?limit=1",
    remoteAddress: from,
    headers: { authorization: `Bearer ${token}` },
  });
}

function expectTooMany(res: Awaited<ReturnType<typeof deliver>>, max: number): void {
  expect(res.statusCode).toBe(429);
  const retryAfter = Number(res.headers["retry-after"]);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(res.json()).toEqual({
    error: "rate_limited",
    message: expect.stringContaining(`at most ${max} a minute`),
  });
}

describe("rate limits, embedded profile (counts in memory)", () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService(LIMITS);
  });
  afterAll(async () => {
    await service.close();
  });

  it("answers a webhook client over WEBHOOK_RATE_LIMIT a minute 429, and only that client", async () => {
    // Before the limits, 2,000 requests in 1.4 s from one client were all served.
    for (let i = 0; i < 6; i++) expect((await deliver(service, "10.1.0.1")).statusCode).toBe(422);
    expectTooMany(await deliver(service, "10.1.0.1"), 6);
    expect((await deliver(service, "10.1.0.2")).statusCode).toBe(422);
  });

  it("answers an admin client over ADMIN_RATE_LIMIT a minute 429", async () => {
    for (let i = 0; i < 15; i++) expect((await admin(service, "10.1.1.1")).statusCode).toBe(200);
    expectTooMany(await admin(service, "10.1.1.1"), 15);
    expect((await admin(service, "10.1.1.2")).statusCode).toBe(200);
  });

  it(`locks an address out after ${ADMIN_AUTH_FAILURES_PER_MINUTE} failed authentications, right token or not`, async () => {
    for (let i = 0; i < ADMIN_AUTH_FAILURES_PER_MINUTE; i++)
      expect((await admin(service, "10.1.2.1", `wrong-token-${i}-0123456789`)).statusCode).toBe(401);
    expectTooMany(
      await admin(service, "10.1.2.1", "one-more-guess-0123456789"),
      ADMIN_AUTH_FAILURES_PER_MINUTE,
    );
    // The right token from the locked-out address is refused too: a 200 among the 429s would give it away.
    expectTooMany(await admin(service, "10.1.2.1"), ADMIN_AUTH_FAILURES_PER_MINUTE);
    expect((await admin(service, "10.1.2.2")).statusCode).toBe(200);
  });

  it(`answers more than ${NOT_FOUND_PER_MINUTE} unknown routes a minute 429, so routes cannot be found by scanning`, async () => {
    const probe = (i: number) => service.app.inject({ url: `/wp-admin/${i}.php`, remoteAddress: "10.1.3.1" });
    for (let i = 0; i < NOT_FOUND_PER_MINUTE; i++) expect((await probe(i)).statusCode).toBe(404);
    expectTooMany(await probe(NOT_FOUND_PER_MINUTE), NOT_FOUND_PER_MINUTE);
    // Health checks and metrics are not limited: load balancers and Prometheus poll them.
    for (let i = 0; i < 10; i++)
      expect((await service.app.inject({ url: "/health", remoteAddress: "10.1.3.1" })).statusCode).toBe(200);
  });
});

describe("rate limits behind a proxy", () => {
  it("count by X-Forwarded-For when TRUST_PROXY says the proxy is trusted, by the proxy's address when not", async () => {
    const trusted = await startService({ ...LIMITS, TRUST_PROXY: "127.0.0.1/8" });
    const untrusted = await startService(LIMITS);
    try {
      for (let i = 0; i < 8; i++) {
        const headers = { "x-forwarded-for": `203.0.113.${i}` };
        expect((await deliver(trusted, "127.0.0.1", headers)).statusCode).toBe(422);
      }
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++)
        statuses.push(
          (await deliver(untrusted, "127.0.0.1", { "x-forwarded-for": `203.0.113.${i}` })).statusCode,
        );
      expect(statuses).toEqual([422, 422, 422, 422, 422, 422, 429, 429]);
    } finally {
      await trusted.close();
      await untrusted.close();
    }
  });

  it("are off at 0", async () => {
    const service = await startService({ WEBHOOK_RATE_LIMIT: "0" });
    try {
      for (let i = 0; i < 20; i++) expect((await deliver(service, "10.2.0.1")).statusCode).toBe(422);
    } finally {
      await service.close();
    }
  });
});

describe("rate limits, Redis profile (counts shared by every instance)", () => {
  let redis: TestRedis;
  let first: TestService;
  let second: TestService;
  beforeAll(async () => {
    redis = await startRedis();
    const env = { ...LIMITS, REDIS_URL: redis.url };
    first = await startService(env);
    second = await startService(env, { worker: false });
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
    await redis?.stop();
  });

  it("holds the webhook limit across two instances on one Redis", async () => {
    for (let i = 0; i < 6; i++)
      expect((await deliver(i % 2 === 0 ? first : second, "10.3.0.1")).statusCode).toBe(422);
    expectTooMany(await deliver(first, "10.3.0.1"), 6);
    expectTooMany(await deliver(second, "10.3.0.1"), 6);
    expect((await deliver(second, "10.3.0.2")).statusCode).toBe(422);

    const client = new Redis(redis.url);
    try {
      expect(await client.get("lg:rate-limit:webhook:10.3.0.1")).toBe("8");
      const ttl = await client.pttl("lg:rate-limit:webhook:10.3.0.1");
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
    } finally {
      client.disconnect();
    }
  });

  it("holds the failed-authentication lockout across instances", async () => {
    for (let i = 0; i < ADMIN_AUTH_FAILURES_PER_MINUTE; i++)
      expect(
        (await admin(i % 2 === 0 ? first : second, "10.3.1.1", `wrong-${i}-0123456789abcdef`)).statusCode,
      ).toBe(401);
    expectTooMany(await admin(first, "10.3.1.1"), ADMIN_AUTH_FAILURES_PER_MINUTE);
    expectTooMany(await admin(second, "10.3.1.1"), ADMIN_AUTH_FAILURES_PER_MINUTE);
    expect((await admin(second, "10.3.1.2")).statusCode).toBe(200);
  });
});
