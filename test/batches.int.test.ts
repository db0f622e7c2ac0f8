/**
 * JSON arrays on POST /webhooks/lead, in both profiles: 207 with one result per item in order, bad items
 * named without blocking the others, duplicates inside and across batches, per-item keys, the size limit,
 * and the HubSpot workflow batch of one that has always been a single lead.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DELIVERED,
  QUALIFIED_LEAD,
  sampleLead,
  startService,
  type TestService,
  waitForStatus,
} from "./helpers/app.ts";
import { PROFILES, postJson, profileEnv } from "./helpers/profiles.ts";
import { startRedis, type TestRedis } from "./helpers/redis-server.ts";

type Result = { leadId?: string; status?: string; duplicate?: boolean; error?: string; field?: string };

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

describe.each(PROFILES)("JSON batches, %s profile", (profile) => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService({ ...profileEnv(profile, redis, 2), WEBHOOK_BATCH_MAX: "5" });
  });
  afterAll(async () => {
    await service?.close();
  });

  const lead = (email: string) => ({ ...sampleLead(QUALIFIED_LEAD), email });

  it("answers 207 with one result per item, in order; a bad item blocks nothing", async () => {
    const before = (await service.runtime.store.listLeads({ limit: 500 })).leads.length;
    const res = await postJson(service, [
      lead(`one.${profile}@bramblewick.com`),
      { first_name: "No email" },
      lead(`two.${profile}@bramblewick.com`),
      "not an object",
      lead(`one.${profile}@bramblewick.com`),
    ]);
    expect(res.statusCode).toBe(207);
    const { results } = res.json<{ results: Result[] }>();
    expect(results).toHaveLength(5);
    expect(results[0]).toEqual({ leadId: expect.any(String), status: "queued" });
    expect(results[1]).toEqual({ error: "invalid_lead", message: "email is required", field: "email" });
    expect(results[2]).toEqual({ leadId: expect.any(String), status: "queued" });
    expect(results[3]).toMatchObject({ error: "invalid_lead", field: "body" });
    // The same lead twice in one batch lands on the first.
    expect(results[4]).toMatchObject({ leadId: results[0]!.leadId, duplicate: true });

    for (const r of [results[0]!, results[2]!]) {
      const stored = await waitForStatus(service.runtime.store, r.leadId!, [...DELIVERED, "failed"]);
      expect(stored.status).toBeOneOf(DELIVERED);
    }
    expect((await service.runtime.store.listLeads({ limit: 500 })).leads.length - before).toBe(2);
  });

  it("keys item i as <Idempotency-Key>#i, so a retried batch is all duplicates", async () => {
    const batch = [lead(`k1.${profile}@bramblewick.com`), lead(`k2.${profile}@bramblewick.com`)];
    const first = await postJson(service, batch, { "idempotency-key": `batch-${profile}` });
    const again = await postJson(service, batch, { "idempotency-key": `batch-${profile}` });
    const a = first.json<{ results: Result[] }>().results;
    const b = again.json<{ results: Result[] }>().results;
    expect(a.every((r) => r.status === "queued" && !r.duplicate)).toBe(true);
    expect(b.map((r) => [r.leadId, r.duplicate])).toEqual(a.map((r) => [r.leadId, true]));
    const stored = await service.runtime.store.getLead(a[1]!.leadId!);
    expect(stored?.idempotencyKey).toBe(`key:batch-${profile}#1`);
  });

  it("refuses an empty batch (422) and one over WEBHOOK_BATCH_MAX (413), naming the body", async () => {
    const empty = await postJson(service, []);
    expect(empty.statusCode).toBe(422);
    expect(empty.json()).toMatchObject({ error: "invalid_lead", field: "body" });
    const big = await postJson(
      service,
      Array.from({ length: 6 }, (_, i) => lead(`big${i}@bramblewick.com`)),
    );
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ error: "batch_too_large", field: "body" });
    expect(big.json().message).toContain("at most 5");
  });

  it("keeps a HubSpot workflow payload in a one-item array a single lead (202)", async () => {
    const res = await postJson(service, [
      { vid: 4242, properties: { email: { value: `wf.${profile}@bramblewick.com` } } },
    ]);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ status: "queued" });
    const stored = await service.runtime.store.getLead(res.json().leadId);
    expect(stored?.source).toBe("hubspot-workflow");
  });

  it("a store outage during a batch is a 503 for the whole delivery; the retry stores the rest", async () => {
    const { store } = service.runtime;
    const createLead = store.createLead.bind(store);
    let calls = 0;
    store.createLead = async (l) => {
      calls += 1;
      if (calls === 2) throw new Error("store down");
      return createLead(l);
    };
    const batch = [lead(`o1.${profile}@bramblewick.com`), lead(`o2.${profile}@bramblewick.com`)];
    try {
      const res = await postJson(service, batch);
      expect(res.statusCode).toBe(503);
      expect(res.headers["retry-after"]).toBeDefined();
    } finally {
      store.createLead = createLead;
    }
    const retried = await postJson(service, batch);
    expect(retried.statusCode).toBe(207);
    const results = retried.json<{ results: Result[] }>().results;
    expect(results[0]).toMatchObject({ duplicate: true });
    expect(results[1]).toMatchObject({ status: "queued" });
    expect(results[1]).not.toHaveProperty("duplicate");
  });
});
