/**
 * HubSpot app webhook events on POST /webhooks/lead, in both profiles, against the HubSpot fake driven by the
 * official client: HubSpot's documented payloads, the property-change rules, a batch of 100 with duplicates
 * and unknown contacts, signatures, and events arriving before HubSpot is configured.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hubspotV3Signature } from "../http/signatures.ts";
import { HubSpotFake } from "./fakes/hubspot-fake.ts";
import { DELIVERED, FAST_QUEUE, startService, type TestService, waitForStatus } from "./helpers/app.ts";
import { PROFILES, postJson, profileEnv } from "./helpers/profiles.ts";
import { startRedis, type TestRedis } from "./helpers/redis-server.ts";

const fixtures = JSON.parse(readFileSync("fixtures/hubspot/webhook-events.json", "utf8")) as Record<
  "documentedBatch" | "contactCreation" | "mqlChange",
  Array<Record<string, unknown>>
>;
const TOKEN = "pat-events-test";
const ADMIN = "admin-token-0123456789abcdef";
const CLIENT_SECRET = "hubspot-client-secret-events";
const PUBLIC_URL = "https://leads.example.com";

type Result = { eventId?: string; leadId?: string; status?: string; duplicate?: boolean; reason?: string };

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

function creation(eventId: number, objectId: string) {
  return {
    eventId,
    subscriptionId: 22,
    portalId: 33,
    appId: 1160452,
    occurredAt: 1_700_000_000_000 + eventId,
    subscriptionType: "contact.creation",
    attemptNumber: 0,
    objectId: Number(objectId),
    changeSource: "FORM",
  };
}

function signed(body: string, url = "/webhooks/lead") {
  const timestamp = String(Date.now());
  const signature = hubspotV3Signature(CLIENT_SECRET, {
    method: "POST",
    uri: `${PUBLIC_URL}${url}`,
    body,
    timestamp,
  });
  return { "x-hubspot-signature-v3": signature, "x-hubspot-request-timestamp": timestamp };
}

describe.each(PROFILES)("HubSpot app webhook events, %s profile", (profile) => {
  let fake: HubSpotFake;
  let service: TestService;

  beforeAll(async () => {
    fake = await HubSpotFake.start({ token: TOKEN });
    service = await startService(
      {
        ...profileEnv(profile, redis, 1),
        HUBSPOT_ACCESS_TOKEN: TOKEN,
        HUBSPOT_BASE_PATH: fake.url,
        HUBSPOT_CLIENT_SECRET: CLIENT_SECRET,
        PUBLIC_URL,
        ADMIN_TOKENS: ADMIN,
      },
      // Three attempts: a lead whose contact is unknown must still be asked for once, not three times.
      { queue: { ...FAST_QUEUE, attempts: 3 } },
    );
  });
  afterAll(async () => {
    await service?.close();
    await fake?.close();
  });

  it("HubSpot's documented batch: the MQL-less property change is ignored, the creation becomes a lead", async () => {
    fake.addContact(
      { email: "documented@bramblewick.com", firstname: "Dora", jobtitle: "VP Sales", country: "US" },
      "1246978",
    );
    const body = JSON.stringify(fixtures.documentedBatch);
    const res = await postJson(service, body, signed(body));
    expect(res.statusCode).toBe(207);
    const { results } = res.json<{ results: Result[] }>();
    expect(results).toHaveLength(2);
    expect(results[0]).toMatchObject({ eventId: "3816279340", status: "ignored", reason: "property_value" });
    expect(results[1]).toMatchObject({ eventId: "3816279480", status: "queued" });
    const lead = await waitForStatus(service.runtime.store, results[1]!.leadId!, [...DELIVERED, "failed"]);
    expect(lead.status).toBeOneOf(DELIVERED);
    expect(lead.source).toBe("hubspot-event");
    expect(fake.requestsTo("GET", "/crm/v3/objects/contacts/1246978")).toHaveLength(1);
    // The property change was acknowledged without reading anything.
    expect(fake.requestsTo("GET", "/crm/v3/objects/contacts/1246965")).toHaveLength(0);

    const metrics = (await service.app.inject("/metrics")).body;
    expect(metrics).toMatch(
      /leadgraph_deliveries_ignored_total\{source="hubspot-event",reason="property_value"\} 1/,
    );

    // HubSpot redelivers (attemptNumber 1): the same lead, nothing new.
    const again = JSON.stringify(fixtures.documentedBatch.map((e) => ({ ...e, attemptNumber: 1 })));
    const redelivered = await postJson(service, again, signed(again));
    expect(redelivered.json<{ results: Result[] }>().results[1]).toMatchObject({
      leadId: results[1]!.leadId,
      duplicate: true,
    });
  });

  it("a configured property change (lifecyclestage → MQL) and a documented creation make leads", async () => {
    fake.addContact({ email: "mql@bramblewick.com", lifecyclestage: "marketingqualifiedlead" }, "1246965");
    fake.addContact({ email: "created@bramblewick.com", firstname: "Cai" }, "65059681032");
    const body = JSON.stringify([...fixtures.mqlChange, ...fixtures.contactCreation]);
    const res = await postJson(service, body, signed(body));
    expect(res.statusCode).toBe(207);
    const { results } = res.json<{ results: Result[] }>();
    expect(results.map((r) => r.status)).toEqual(["queued", "queued"]);
    for (const r of results) {
      const lead = await waitForStatus(service.runtime.store, r.leadId!, [...DELIVERED, "failed"]);
      expect(lead.status).toBeOneOf(DELIVERED);
    }
  });

  it("rejects an unsigned event batch with 401 and stores nothing", async () => {
    const res = await postJson(service, fixtures.contactCreation);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ error: "invalid_signature" });
  });

  it("a batch of 100 with 3 duplicates and 2 unknown contacts: 95 leads, 3 duplicates, 2 failed with the reason", async () => {
    const known = Array.from({ length: 95 }, (_, i) =>
      fake.addContact({ email: `batch${i}.${profile}@bramblewick.com`, firstname: `B${i}`, country: "DE" }),
    );
    const base = profile === "redis" ? 900_000 : 800_000;
    const events = known.map((c, i) => creation(base + i, c.id));
    events.push(creation(base + 95, "777000001"), creation(base + 96, "777000002"));
    // Three of the events come again inside the same batch (HubSpot can deliver an event twice).
    events.splice(10, 0, events[3]!);
    events.splice(50, 0, events[40]!);
    events.push(events[96]!);
    expect(events).toHaveLength(100);
    const requestsBefore = fake.requests.length;

    const body = JSON.stringify(events);
    const res = await postJson(service, body, signed(body));
    expect(res.statusCode).toBe(207);
    const { results } = res.json<{ results: Result[] }>();
    expect(results).toHaveLength(100);
    expect(results.filter((r) => r.duplicate)).toHaveLength(3);
    const leadIds = [...new Set(results.map((r) => r.leadId!))];
    expect(leadIds).toHaveLength(97);
    // In order: each result names its own event.
    expect(results.map((r) => r.eventId)).toEqual(events.map((e) => String(e.eventId)));

    const leads = await Promise.all(
      leadIds.map((id) => waitForStatus(service.runtime.store, id, [...DELIVERED, "failed"], 60_000)),
    );
    expect(leads.filter((l) => DELIVERED.includes(l.status))).toHaveLength(95);
    const failed = leads.filter((l) => l.status === "failed");
    expect(failed).toHaveLength(2);
    for (const lead of failed) {
      expect(lead.lastError).toMatchObject({
        node: "capture",
        message: expect.stringMatching(/HubSpot contact 77700000[12] was not found/),
      });
      // Not retried by the queue: nothing a rerun could change.
      expect(lead.attempts).toBe(1);
    }
    // HubSpot was asked for each contact once per event (duplicates and failures included); reads by email
    // are the CRM owner checks of routing and syncCrm, not capture's.
    const reads = fake.requests
      .slice(requestsBefore)
      .filter(
        (r) =>
          r.method === "GET" &&
          r.path.startsWith("/crm/v3/objects/contacts/") &&
          r.query.idProperty !== "email",
      );
    const perContact = new Map<string, number>();
    for (const r of reads) perContact.set(r.path, (perContact.get(r.path) ?? 0) + 1);
    expect(perContact.size).toBe(97);
    expect([...perContact.values()].every((n) => n === 1)).toBe(true);
  }, 120_000);

  it("answers 413 for more events than WEBHOOK_BATCH_MAX, naming the body", async () => {
    const body = JSON.stringify(Array.from({ length: 101 }, (_, i) => creation(5_000_000 + i, "1")));
    const res = await postJson(service, body, signed(body));
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ error: "batch_too_large", field: "body" });
  });
});

describe("events that arrive before HubSpot is configured", () => {
  it("are stored, fail with a reason naming the fix, and complete on an admin retry once it is configured", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "leadgraph-events-"));
    const fake = await HubSpotFake.start({ token: TOKEN });
    try {
      const before = await startService({ DATA_DIR: dataDir, ADMIN_TOKENS: ADMIN });
      let leadId: string;
      try {
        const res = await postJson(before, fixtures.contactCreation);
        expect(res.statusCode).toBe(207);
        leadId = res.json<{ results: Result[] }>().results[0]!.leadId!;
        const failed = await waitForStatus(before.runtime.store, leadId, ["failed", ...DELIVERED]);
        expect(failed.status).toBe("failed");
        expect(failed.lastError?.message).toMatch(/HubSpot is not configured.*HUBSPOT_ACCESS_TOKEN.*retry/);
      } finally {
        await before.close();
      }

      fake.addContact({ email: "late@bramblewick.com", firstname: "Lateef" }, "65059681032");
      const after = await startService({
        DATA_DIR: dataDir,
        ADMIN_TOKENS: ADMIN,
        HUBSPOT_ACCESS_TOKEN: TOKEN,
        HUBSPOT_BASE_PATH: fake.url,
      });
      try {
        const retry = await after.app.inject({
          method: "POST",
          url: `/admin/leads/${leadId}/retry`,
          headers: { authorization: `Bearer ${ADMIN}` },
        });
        expect(retry.statusCode).toBe(202);
        const done = await waitForStatus(after.runtime.store, leadId, [...DELIVERED, "failed"]);
        expect(done.status).toBeOneOf(DELIVERED);
        expect(fake.requestsTo("GET", "/crm/v3/objects/contacts/65059681032")).toHaveLength(1);
      } finally {
        await after.close();
      }
    } finally {
      await fake.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
