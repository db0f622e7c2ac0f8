/**
 * POST /webhooks/lead on the embedded profile (SQLite in a temp DATA_DIR), through app.inject: every 2xx
 * means a stored lead with a job; senders' mistakes are 4xx naming the field; signatures are enforced.
 */
import { readFileSync } from "node:fs";
import { Writable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { checkIntake } from "../app/intake.ts";
import { normalizePayload } from "../domain/normalize/lead.ts";
import type { LeadSource } from "../domain/types.ts";
import {
  genericSignature,
  hubspotUri,
  hubspotV3Signature,
  SIGNATURE_MAX_AGE_SECONDS,
  SIGNATURE_MAX_AHEAD_SECONDS,
  verifyGenericSignature,
} from "../http/signatures.ts";
import {
  countEffects,
  DELIVERED,
  NURTURE_LEAD,
  QUALIFIED_LEAD,
  sampleLead,
  startService,
  type TestService,
  waitForStatus,
} from "./helpers/app.ts";
import { crmContactsFor, outboxMessagesFor } from "./helpers/outbox.ts";

function post(
  service: TestService,
  body: unknown,
  headers: Record<string, string> = {},
  url = "/webhooks/lead",
) {
  return service.app.inject({
    method: "POST",
    url,
    headers: { "content-type": "application/json", ...headers },
    payload: typeof body === "string" ? body : JSON.stringify(body),
  });
}

describe("intake checks what capture would reject, and only that", () => {
  const fixtures = (
    JSON.parse(readFileSync("fixtures/leads_sample.json", "utf8")) as Array<{ id: string; payload: unknown }>
  ).map((c): [string, unknown, LeadSource?] => [c.id, c.payload]);
  const long = "x".repeat(299) + "yé".repeat(10);
  const cases: Array<[string, unknown, LeadSource?]> = [
    ...fixtures,
    ["no body", undefined],
    ["null", null],
    ["a string", "jane@acme.com"],
    ["a number", 42],
    ["empty array", []],
    ["batch of one", [{ email: "Batch@Acme.com", campaign: "c", form: "f" }]],
    ["batch of two", [{ email: "a@acme.com" }, { email: "b@acme.com" }]],
    ["batch of a non-object", [5]],
    ["nested batch", [[{ email: "a@acme.com" }]]],
    ["no email", { first_name: "Jane" }],
    ["blank email", { email: "   " }],
    ["null email", { email: null }],
    ["array email", { email: ["jane@acme.com"] }],
    ["numeric email", { email: 12345 }],
    ["malformed email", { email: "jane(at)acme.com" }],
    ["email without TLD", { email: "jane@localhost" }],
    ["over-long email", { email: `${"a".repeat(250)}@acme.com` }],
    ["mailto and case", { Email_Address: " mailto:Jane.Doe@ACME.com " }],
    ["camelCase key", { emailAddress: "jane@acme.io", formName: "demo", Campaign: "spring" }],
    [
      "junk everywhere but the email",
      { email: "j@acme.com", phone: "12", country: "Atlantis", website: "::" },
    ],
    ["long campaign and form", { email: "long@acme.com", campaign: long, form: `${long} ` }],
    ["HubSpot legacy", { vid: 1, properties: { email: { value: "Legacy@Acme.com" }, form: { value: "d" } } }],
    ["HubSpot flat", { objectId: 7, properties: { email: "flat@acme.com" } }],
    ["HubSpot properties win", { email: "top@acme.com", properties: { email: "inner@acme.com" } }],
    ["HubSpot without email", { properties: { firstname: { value: "Bob" } } }],
    ["forced generic on HubSpot shape", { properties: { email: "x@acme.com" } }, "generic"],
    ["forced HubSpot on generic shape", { email: "g@acme.com", campaign: "c" }, "hubspot-workflow"],
    [
      "forced HubSpot, batch of one",
      [{ properties: { email: { value: "b1@acme.com" } } }],
      "hubspot-workflow",
    ],
  ];

  it.each(cases)("%s", (_name, body, forced) => {
    const capture = normalizePayload(body, forced);
    const intake = checkIntake(body, forced);
    if (!capture.ok) {
      expect(intake).toEqual(capture);
      return;
    }
    // Accepted by both, from the same source, with the idempotency inputs capture's lead would give.
    const { email, campaign, form } = capture.lead;
    expect(intake).toEqual({
      ok: true,
      source: capture.source,
      keyInputs: { email, campaign, form },
      // The search facets intake stores before capture runs agree with capture's email.
      facets: expect.objectContaining({ email, emailDomain: capture.lead.emailDomain }),
    });
  });
});

describe("webhook intake (embedded profile)", () => {
  let service: TestService;
  const effects = countEffects();
  const enqueued: string[] = [];

  beforeAll(async () => {
    service = await startService({}, { overrideDeps: effects.override });
    const { queue } = service.runtime;
    const enqueue = queue.enqueue.bind(queue);
    queue.enqueue = async (leadId) => {
      enqueued.push(leadId);
      return enqueue(leadId);
    };
  });
  afterAll(async () => {
    await service.close();
  });
  afterEach(() => {
    enqueued.length = 0;
  });

  it("answers 202 once the lead is stored and queued, then runs it to completion", async () => {
    const res = await post(service, sampleLead(QUALIFIED_LEAD));
    expect(res.statusCode).toBe(202);
    const body = res.json<{ leadId: string; status: string }>();
    expect(body.status).toBe("queued");
    // 2xx ⇒ stored: the record exists the moment the answer is out.
    expect(await service.runtime.store.getLead(body.leadId)).not.toBeNull();
    expect(enqueued).toEqual([body.leadId]);

    const lead = await waitForStatus(service.runtime.store, body.leadId, [...DELIVERED, "failed"]);
    expect(lead.status).toBeOneOf(DELIVERED);
    expect(lead.attempts).toBe(1);
    expect(lead.result).toMatchObject({ tier: "hot", owner: "noah.williams", path: "qualified" });
    expect(lead.timeline.map((t) => t.node)).toEqual([
      "capture",
      "enrich",
      "scoreLead",
      "routeLead",
      "summarize",
      "notifyOwner",
      "syncCrm",
    ]);
    expect(lead.timeline.every((t) => t.status === "ok" && typeof t.durationMs === "number")).toBe(true);
    expect(effects.of(body.leadId)).toEqual({ messages: 1, messageUpdates: 0, contacts: 1 });
    expect(outboxMessagesFor(service.dataDir, body.leadId)).toBe(1);
    expect(crmContactsFor(service.dataDir, body.leadId)).toBe(1);
    const result = lead.result as { notifications: unknown[]; crm: { contactId?: string } };
    expect(result.notifications).toHaveLength(1);
    expect(result.crm.contactId).toBeTruthy();
  });

  it("accepts a lead whose phone, country and website capture can only warn about", async () => {
    const payload = {
      ...sampleLead(QUALIFIED_LEAD),
      email: "junk.fields@bramblewick.com",
      phone: "12",
      country: "Atlantis",
      website: "::not a site::",
    };
    const res = await post(service, payload);
    expect(res.statusCode).toBe(202);
    const { leadId } = res.json<{ leadId: string }>();
    // Normalised in the worker: capture drops the junk with a warning instead of failing the lead.
    const lead = await waitForStatus(service.runtime.store, leadId, [...DELIVERED, "failed"]);
    expect(lead.status).toBeOneOf(DELIVERED);
    expect(lead.payload).toEqual(payload);
  });

  it("runs a nurture lead without messaging anyone", async () => {
    const res = await post(service, sampleLead(NURTURE_LEAD));
    expect(res.statusCode).toBe(202);
    const { leadId } = res.json<{ leadId: string }>();
    const lead = await waitForStatus(service.runtime.store, leadId, [...DELIVERED, "failed"]);
    expect(lead.result).toMatchObject({ path: "nurture", owner: "queue:nurture" });
    expect(effects.of(leadId)).toEqual({ messages: 0, messageUpdates: 0, contacts: 1 });
    expect(outboxMessagesFor(service.dataDir, leadId)).toBe(0);
  });

  it("answers a duplicate delivery with 200 and the first lead, and enqueues nothing", async () => {
    const payload = { ...sampleLead(QUALIFIED_LEAD), email: "dup.check@bramblewick.com" };
    const first = await post(service, payload, { "idempotency-key": "delivery-42" });
    expect(first.statusCode).toBe(202);
    const { leadId } = first.json<{ leadId: string }>();
    await waitForStatus(service.runtime.store, leadId, DELIVERED);
    enqueued.length = 0;

    const again = await post(service, payload, { "idempotency-key": "delivery-42" });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ leadId, status: "awaiting", duplicate: true });
    expect(enqueued).toEqual([]);

    // Without the header the key is the hash of email + campaign + form: the same lead again.
    const hashed = await post(service, { ...payload, email: "another@bramblewick.com" });
    expect(hashed.statusCode).toBe(202);
    const hashedAgain = await post(service, { ...payload, email: "  Another@Bramblewick.com " });
    expect(hashedAgain.statusCode).toBe(200);
    expect(hashedAgain.json().leadId).toBe(hashed.json().leadId);
    await waitForStatus(service.runtime.store, hashed.json().leadId, DELIVERED);
  });

  it("turns 50 concurrent deliveries of one lead into one lead, one job and one message", async () => {
    const payload = { ...sampleLead(QUALIFIED_LEAD), email: "burst@bramblewick.com", campaign: "burst" };
    const before = (await service.runtime.store.listLeads({ limit: 500 })).leads.length;
    const responses = await Promise.all(Array.from({ length: 50 }, () => post(service, payload)));

    const accepted = responses.filter((r) => r.statusCode === 202);
    const duplicates = responses.filter((r) => r.statusCode === 200);
    expect(accepted).toHaveLength(1);
    expect(duplicates).toHaveLength(49);
    const { leadId } = accepted[0]!.json<{ leadId: string }>();
    expect(new Set(duplicates.map((r) => r.json().leadId))).toEqual(new Set([leadId]));
    expect(duplicates.every((r) => r.json().duplicate === true)).toBe(true);

    const lead = await waitForStatus(service.runtime.store, leadId, [...DELIVERED, "failed"]);
    expect(lead.status).toBeOneOf(DELIVERED);
    const after = (await service.runtime.store.listLeads({ limit: 500 })).leads.length;
    expect(after - before).toBe(1);
    // One job: enqueue only ever named this lead, and the graph ran once.
    expect(new Set(enqueued)).toEqual(new Set([leadId]));
    expect(lead.attempts).toBe(1);
    expect(lead.timeline.filter((t) => t.node === "capture")).toHaveLength(1);
    expect(effects.of(leadId)).toEqual({ messages: 1, messageUpdates: 0, contacts: 1 });
    expect(outboxMessagesFor(service.dataDir, leadId)).toBe(1);
    expect(crmContactsFor(service.dataDir, leadId)).toBe(1);
    // The job is acknowledged just after the lead records its end (a commit of its own): wait for it.
    await expect.poll(() => service.runtime.queue.depth(), { timeout: 5_000 }).toBe(0);
  });

  describe("sender mistakes are 4xx naming what was wrong", () => {
    it("malformed JSON → 400", async () => {
      const res = await post(service, '{"email": "a@b.com",');
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: "invalid_json", field: "body" });
      expect(res.body).not.toContain("a@b.com");
    });

    it("a `__proto__` or `constructor.prototype` key → 422 naming it, not 'not valid JSON'", async () => {
      const res = await post(
        service,
        '{"email": "proto@bramblewick.com", "extra": {"__proto__": {"admin": true}}}',
      );
      expect(res.statusCode).toBe(422);
      expect(res.json()).toEqual({
        error: "forbidden_key",
        message: 'field name "__proto__" is not allowed',
        field: "extra.__proto__",
      });
      const ctor = await post(
        service,
        '{"email": "c@bramblewick.com", "constructor": {"prototype": {"x": 1}}}',
      );
      expect(ctor.statusCode).toBe(422);
      expect(ctor.json()).toMatchObject({ error: "forbidden_key", field: "constructor.prototype" });
      expect(({} as Record<string, unknown>).admin).toBeUndefined();
    });

    it("a content type that is neither JSON nor a form → 415", async () => {
      const res = await service.app.inject({
        method: "POST",
        url: "/webhooks/lead",
        headers: { "content-type": "text/plain" },
        payload: "email=a%40b.com",
      });
      expect(res.statusCode).toBe(415);
      expect(res.json()).toMatchObject({ error: "unsupported_media_type" });
      expect(typeof res.json().message).toBe("string");

      const noType = await service.app.inject({ method: "POST", url: "/webhooks/lead", payload: "hello" });
      expect(noType.statusCode).toBe(415);
    });

    it("body over 256 KB → 413", async () => {
      const res = await post(service, { email: "big@example.com", message: "x".repeat(300 * 1024) });
      expect(res.statusCode).toBe(413);
      expect(res.json()).toMatchObject({ error: "payload_too_large" });
    });

    it("missing or invalid email → 422 naming email; nothing stored", async () => {
      const before = (await service.runtime.store.listLeads({ limit: 500 })).leads.length;
      const missing = await post(service, { first_name: "No", company: "Mail Inc" });
      expect(missing.statusCode).toBe(422);
      expect(missing.json()).toMatchObject({ error: "invalid_lead", field: "email" });
      const invalid = await post(service, { email: "not-an-address" });
      expect(invalid.statusCode).toBe(422);
      expect(invalid.json().field).toBe("email");
      const empty = await post(service, "");
      expect(empty.statusCode).toBe(422);
      expect(empty.json().field).toBe("body");
      expect((await service.runtime.store.listLeads({ limit: 500 })).leads.length).toBe(before);
      expect(enqueued).toEqual([]);
    });

    it("a body nested 5,000 levels deep → 422 naming the depth limit, never 503; nothing stored", async () => {
      const before = (await service.runtime.store.listLeads({ limit: 500 })).leads.length;
      let deep = '"x"';
      for (let i = 0; i < 5000; i++) deep = `{"a":${deep}}`;
      const res = await post(service, `{"email":"deep@bramblewick.com","extra":${deep}}`);
      // Before the limits this overflowed the stack in the store and came back 503 with Retry-After,
      // so a compliant sender retried it for ever.
      expect(res.statusCode).toBe(422);
      expect(res.headers["retry-after"]).toBeUndefined();
      expect(res.json()).toMatchObject({
        error: "payload_limit",
        field: expect.stringMatching(/^extra\.a\./),
      });
      expect(res.json().message).toContain("more than 32 levels");

      const wide = await post(service, {
        email: "wide@bramblewick.com",
        extra: Array.from({ length: 25_000 }, () => 0),
      });
      expect(wide.statusCode).toBe(422);
      expect(wide.json()).toMatchObject({ error: "payload_limit", field: "body" });
      const long = await post(service, { email: "long@bramblewick.com", message: "m".repeat(20_000) });
      expect(long.statusCode).toBe(422);
      expect(long.json()).toMatchObject({ error: "payload_limit", field: "message" });

      expect((await service.runtime.store.listLeads({ limit: 500 })).leads.length).toBe(before);
      expect(enqueued).toEqual([]);
    });

    it("a malformed URL or an over-long id is answered in our error body too", async () => {
      const badUrl = await service.app.inject({ url: "/%" });
      expect(badUrl.statusCode).toBe(400);
      expect(badUrl.json()).toEqual({ error: "bad_url", message: expect.any(String) });
      const longId = await service.app.inject({ url: `/admin/leads/${"x".repeat(300)}` });
      expect(longId.statusCode).toBe(414);
      expect(longId.json()).toEqual({ error: "uri_too_long", message: expect.any(String) });
    });

    it("unknown ?source → 400 naming the parameter", async () => {
      const res = await post(service, sampleLead(QUALIFIED_LEAD), {}, "/webhooks/lead?source=salesforce");
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: "invalid_request", field: "source" });
    });
  });

  it("serves health, readiness, metrics and the OpenAPI document", async () => {
    expect((await service.app.inject("/health")).json()).toEqual({ status: "ok" });
    expect((await service.app.inject("/ready")).json()).toMatchObject({ status: "ready", store: "sqlite" });
    const metrics = await service.app.inject("/metrics");
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain("leadgraph_leads_received_total");
    // Qualified leads wait for their owner (awaiting): the completed counter is there, its samples come later.
    expect(metrics.body).toContain("# TYPE leadgraph_leads_completed_total counter");
    expect(metrics.body).toContain('leadgraph_node_duration_seconds_count{node="notifyOwner",status="ok"}');
    expect(metrics.body).toContain("leadgraph_queue_depth 0");
    const openapi = (await service.app.inject("/openapi.json")).json();
    expect(openapi.openapi).toMatch(/^3\./);
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining(["/webhooks/lead", "/admin/leads/{id}", "/admin/routing/preview", "/ready"]),
    );
    expect(Object.keys(openapi.paths["/webhooks/lead"].post.responses)).toEqual(
      expect.arrayContaining(["200", "202", "400", "401", "413", "415", "422", "503"]),
    );
  });
});

describe("webhook when the store or queue is down", () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService();
  });
  afterAll(async () => {
    await service.close();
  });

  it("store unreachable → 503 with Retry-After, and the retried delivery is accepted", async () => {
    const { store } = service.runtime;
    const createLead = store.createLead.bind(store);
    store.createLead = async () => {
      throw new Error("SQLITE_BUSY: database is locked");
    };
    const payload = { ...sampleLead(QUALIFIED_LEAD), email: "retry.me@bramblewick.com" };
    const res = await post(service, payload);
    expect(res.statusCode).toBe(503);
    expect(res.headers["retry-after"]).toBeDefined();
    expect(res.json()).toMatchObject({ error: "unavailable" });
    expect(res.body).not.toContain("SQLITE");

    store.createLead = createLead;
    // The claim was released, so the sender's retry is a first delivery, not a duplicate of nothing.
    const retried = await post(service, payload);
    expect(retried.statusCode).toBe(202);
    const lead = await waitForStatus(store, retried.json().leadId, [...DELIVERED, "failed"]);
    expect(lead.status).toBeOneOf(DELIVERED);
  });

  it("queue unreachable → 503; the retried delivery enqueues the stored lead", async () => {
    const { queue, store } = service.runtime;
    const enqueue = queue.enqueue.bind(queue);
    queue.enqueue = async () => {
      throw new Error("connect ECONNREFUSED");
    };
    const payload = { ...sampleLead(QUALIFIED_LEAD), email: "queue.down@bramblewick.com" };
    const res = await post(service, payload);
    expect(res.statusCode).toBe(503);
    expect(res.headers["retry-after"]).toBeDefined();

    queue.enqueue = enqueue;
    const retried = await post(service, payload);
    expect(retried.statusCode).toBe(200);
    const { leadId, duplicate } = retried.json<{ leadId: string; duplicate: boolean }>();
    expect(duplicate).toBe(true);
    const lead = await waitForStatus(store, leadId, [...DELIVERED, "failed"]);
    expect(lead.status).toBeOneOf(DELIVERED);
  });

  it("a claim whose lead was never stored is released, so the sender's retry is accepted", async () => {
    const { store } = service.runtime;
    const payload = { ...sampleLead(QUALIFIED_LEAD), email: "crashed.intake@bramblewick.com" };
    // As if a process claimed the key and died before storing the lead.
    await store.claimIdempotencyKey("key:crashed-1", "lead-that-never-was");
    const res = await post(service, payload, { "idempotency-key": "crashed-1" });
    expect(res.statusCode).toBe(503);
    const retried = await post(service, payload, { "idempotency-key": "crashed-1" });
    expect(retried.statusCode).toBe(202);
  });
});

describe("webhook signatures", () => {
  const WEBHOOK_SECRET = "generic-secret-0123456789";
  const HUBSPOT_CLIENT_SECRET = "hubspot-client-secret-abcdef";
  const PUBLIC_URL = "https://leads.example.com";
  let service: TestService;

  beforeAll(async () => {
    service = await startService({ WEBHOOK_SECRET, HUBSPOT_CLIENT_SECRET, PUBLIC_URL });
  });
  afterAll(async () => {
    await service.close();
  });

  function hubspotHeaders(body: string, options: { secret?: string; timestamp?: number; url?: string } = {}) {
    const timestamp = String(options.timestamp ?? Date.now());
    const url = options.url ?? "/webhooks/lead?source=hubspot";
    const signature = hubspotV3Signature(options.secret ?? HUBSPOT_CLIENT_SECRET, {
      method: "POST",
      uri: `${PUBLIC_URL}${url}`,
      body,
      timestamp,
    });
    return { "x-hubspot-signature-v3": signature, "x-hubspot-request-timestamp": timestamp };
  }

  const hubspotBody = JSON.stringify({
    vid: 90101,
    "portal-id": 555,
    properties: {
      email: { value: "signed.hubspot@bramblewick.com" },
      firstname: { value: "Signed" },
      company: { value: "Bramblewick Logistics" },
    },
  });

  it("decodes the escapes HubSpot decodes before signing, and no others", () => {
    expect(hubspotUri("https://x.io/a%3Ab%2fc%3F%40%21%24%27%28%29%2A%2c%3B?q=%20%25%3a")).toBe(
      "https://x.io/a:b/c?@!$'()*,;?q=%20%25:",
    );
  });

  it("accepts a valid generic signature", async () => {
    const body = JSON.stringify({ ...sampleLead(QUALIFIED_LEAD), email: "signed.generic@bramblewick.com" });
    const header = genericSignature(WEBHOOK_SECRET, body);
    expect(header).toMatch(/^t=\d{10},v1=[0-9a-f]{64}$/);
    const res = await post(service, body, { "x-signature": header });
    expect(res.statusCode).toBe(202);
  });

  it("accepts any of several v1 signatures, so a sender can rotate its secret", async () => {
    const body = JSON.stringify({ ...sampleLead(QUALIFIED_LEAD), email: "rotating@bramblewick.com" });
    const t = Math.floor(Date.now() / 1000);
    const old = genericSignature("the-previous-secret-0000", body, t).split(",")[1];
    const current = genericSignature(WEBHOOK_SECRET, body, t).split(",")[1];
    const res = await post(service, body, { "x-signature": `t=${t},${old},${current}` });
    expect(res.statusCode).toBe(202);
  });

  it("judges the timestamp only once the signature holds: 5 minutes old at most, 1 minute ahead", () => {
    const body = Buffer.from('{"email":"a@b.co"}');
    const now = Date.parse("2025-03-01T09:00:00Z");
    const t = now / 1000;
    const check = (signedAt: number, secret = WEBHOOK_SECRET) =>
      verifyGenericSignature(WEBHOOK_SECRET, body, genericSignature(secret, body, signedAt), now);
    expect(check(t - SIGNATURE_MAX_AGE_SECONDS)).toEqual({ ok: true });
    expect(check(t + SIGNATURE_MAX_AHEAD_SECONDS)).toEqual({ ok: true });
    expect(check(t - SIGNATURE_MAX_AGE_SECONDS - 1)).toMatchObject({
      ok: false,
      field: "X-Signature",
      message: expect.stringContaining("301 s old"),
    });
    expect(check(t + SIGNATURE_MAX_AHEAD_SECONDS + 1)).toMatchObject({
      ok: false,
      message: expect.stringContaining("61 s ahead of our clock"),
    });
    // A wrong secret says so, whatever the time: the timestamp of a forgery is not worth judging.
    expect(check(t - 3600, "not-the-secret")).toMatchObject({
      ok: false,
      message: expect.stringContaining("does not match"),
    });
    for (const header of ["t=abc,v1=00", `v1=${"0".repeat(64)}`, `t=${t}`, "garbage"])
      expect(verifyGenericSignature(WEBHOOK_SECRET, body, header, now)).toMatchObject({
        ok: false,
        message: expect.stringContaining("t=<unix seconds>,v1="),
      });
  });

  it("a replayed signed delivery is the same lead, whatever Idempotency-Key it carries", async () => {
    const body = JSON.stringify({ ...sampleLead(QUALIFIED_LEAD), email: "replayed@bramblewick.com" });
    const signature = { "x-signature": genericSignature(WEBHOOK_SECRET, body) };
    const first = await post(service, body, { ...signature, "idempotency-key": "first-delivery" });
    expect(first.statusCode).toBe(202);
    const { leadId } = first.json<{ leadId: string }>();
    // Before, the unsigned header chose the key: each new key was a new lead, DM and CRM note.
    for (const key of ["replay-1", "replay-2"]) {
      const replay = await post(service, body, { ...signature, "idempotency-key": key });
      expect(replay.statusCode, key).toBe(200);
      expect(replay.json(), key).toMatchObject({ leadId, duplicate: true });
    }
    const again = await post(service, body, signature);
    expect(again.json()).toMatchObject({ leadId, duplicate: true });
    await waitForStatus(service.runtime.store, leadId, DELIVERED);
  });

  it("a HubSpot-signed delivery is keyed by what the signature covers, never by the unsigned header", async () => {
    const body = hubspotBody.replace("signed.hubspot@", "signed.keyed@");
    const url = "/webhooks/lead?source=hubspot";
    const first = await post(service, body, { ...hubspotHeaders(body), "idempotency-key": "a" }, url);
    expect(first.statusCode).toBe(202);
    const replay = await post(service, body, { ...hubspotHeaders(body), "idempotency-key": "b" }, url);
    expect(replay.statusCode).toBe(200);
    expect(replay.json()).toMatchObject({ leadId: first.json().leadId, duplicate: true });
  });

  it("a replayed signed batch lands each item on its first lead, whatever Idempotency-Key it carries", async () => {
    const body = JSON.stringify([
      { ...sampleLead(QUALIFIED_LEAD), email: "batch.one@bramblewick.com" },
      { ...sampleLead(QUALIFIED_LEAD), email: "batch.two@bramblewick.com" },
    ]);
    const first = await post(service, body, {
      "x-signature": genericSignature(WEBHOOK_SECRET, body),
      "idempotency-key": "b1",
    });
    expect(first.statusCode).toBe(207);
    const ids = first.json<{ results: Array<{ leadId: string }> }>().results.map((r) => r.leadId);
    const replay = await post(service, body, {
      "x-signature": genericSignature(WEBHOOK_SECRET, body),
      "idempotency-key": "b2",
    });
    expect(replay.statusCode).toBe(207);
    expect(replay.json().results).toEqual(
      ids.map((leadId) => expect.objectContaining({ leadId, duplicate: true })),
    );
    const unsigned = await post(service, body, { "idempotency-key": "b3" });
    expect(unsigned.statusCode).toBe(401);
  });

  it("checks the signature before the query, headers or body are validated", async () => {
    // Before, schema validation ran first: an unsigned sender got a 400 describing what it got wrong.
    const notALead = await post(service, '"just a string"');
    expect(notALead.statusCode).toBe(401);
    expect(notALead.json().error).toBe("invalid_signature");
    const badQuery = await post(
      service,
      { email: "q@bramblewick.com" },
      {},
      "/webhooks/lead?source=salesforce",
    );
    expect(badQuery.statusCode).toBe(401);
    const signedBody = JSON.stringify({ email: "q@bramblewick.com" });
    const signedBadQuery = await post(
      service,
      signedBody,
      { "x-signature": genericSignature(WEBHOOK_SECRET, signedBody) },
      "/webhooks/lead?source=salesforce",
    );
    expect(signedBadQuery.statusCode).toBe(400);
    expect(signedBadQuery.json().field).toBe("source");
  });

  it("refuses the old sha256= signature, which signed no time, naming the scheme to use", async () => {
    const body = JSON.stringify({ ...sampleLead(QUALIFIED_LEAD), email: "old.scheme@bramblewick.com" });
    const { createHmac } = await import("node:crypto");
    const old = `sha256=${createHmac("sha256", WEBHOOK_SECRET).update(body).digest("hex")}`;
    const res = await post(service, body, { "x-signature": old });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ error: "invalid_signature", field: "X-Signature" });
    expect(res.json().message).toContain("t=<unix seconds>,v1=");
  });

  it("accepts a valid HubSpot v3 signature", async () => {
    const res = await post(
      service,
      hubspotBody,
      hubspotHeaders(hubspotBody),
      "/webhooks/lead?source=hubspot",
    );
    expect(res.statusCode).toBe(202);
    const lead = await service.runtime.store.getLead(res.json().leadId);
    expect(lead?.source).toBe("hubspot-workflow");
  });

  it("rejects unsigned, tampered, wrongly keyed and stale deliveries with 401", async () => {
    const body = JSON.stringify({ ...sampleLead(QUALIFIED_LEAD), email: "tamper@bramblewick.com" });
    const cases = [
      { name: "unsigned", res: await post(service, body) },
      {
        name: "tampered body (generic)",
        res: await post(service, body.replace("tamper@", "tampered@"), {
          "x-signature": genericSignature(WEBHOOK_SECRET, body),
        }),
      },
      {
        name: "wrong secret (generic)",
        res: await post(service, body, { "x-signature": genericSignature("not-the-secret", body) }),
      },
      {
        name: "stale timestamp (generic)",
        res: await post(service, body, {
          "x-signature": genericSignature(WEBHOOK_SECRET, body, Math.floor(Date.now() / 1000) - 6 * 60),
        }),
      },
      {
        name: "timestamp from the future (generic)",
        res: await post(service, body, {
          "x-signature": genericSignature(WEBHOOK_SECRET, body, Math.floor(Date.now() / 1000) + 6 * 60),
        }),
      },
      {
        name: "timestamp changed (generic)",
        res: await post(service, body, {
          "x-signature": genericSignature(WEBHOOK_SECRET, body).replace(
            /^t=(\d+)/,
            (_, t) => `t=${Number(t) - 1}`,
          ),
        }),
      },
      {
        name: "tampered body (HubSpot)",
        res: await post(
          service,
          hubspotBody.replace("signed.hubspot@", "evil@"),
          hubspotHeaders(hubspotBody),
          "/webhooks/lead?source=hubspot",
        ),
      },
      {
        name: "wrong secret (HubSpot)",
        res: await post(
          service,
          hubspotBody,
          hubspotHeaders(hubspotBody, { secret: "wrong" }),
          "/webhooks/lead?source=hubspot",
        ),
      },
      {
        name: "stale timestamp (HubSpot)",
        res: await post(
          service,
          hubspotBody,
          hubspotHeaders(hubspotBody, { timestamp: Date.now() - 6 * 60 * 1000 }),
          "/webhooks/lead?source=hubspot",
        ),
      },
      {
        name: "signed for another URL (HubSpot)",
        res: await post(
          service,
          hubspotBody,
          hubspotHeaders(hubspotBody, { url: "/webhooks/lead?source=generic" }),
          "/webhooks/lead?source=hubspot",
        ),
      },
    ];
    for (const { name, res } of cases) {
      expect(res.statusCode, name).toBe(401);
      expect(res.json().error, name).toBe("invalid_signature");
      expect(typeof res.json().field, name).toBe("string");
    }
    const leads = await service.runtime.store.listLeads({ limit: 500 });
    expect(leads.leads.map((l) => (l.payload as { email?: string }).email)).not.toContain(
      "tamper@bramblewick.com",
    );
  });
});

describe("logs", () => {
  it("carry the leadId on every line about a lead and never an email, phone, name or token", async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(...chunk.toString().split("\n").filter(Boolean));
        callback();
      },
    });
    const token = "admin-token-never-logged-123456";
    const service = await startService({ ADMIN_TOKENS: token }, {}, { level: "debug", destination });
    try {
      const payload = {
        ...sampleLead(QUALIFIED_LEAD),
        email: "private.person@bramblewick.com",
        first_name: "Privatus",
        last_name: "Personsson",
        phone: "+1 312 555 0199",
      };
      const res = await post(service, payload);
      expect(res.statusCode).toBe(202);
      const { leadId } = res.json<{ leadId: string }>();
      await waitForStatus(service.runtime.store, leadId, DELIVERED);
      await service.app.inject({
        url: `/admin/leads/${leadId}`,
        headers: { authorization: `Bearer ${token}` },
      });
      await post(service, "{broken");

      const text = lines.join("\n");
      for (const secret of ["private.person", "Privatus", "Personsson", "555 0199", "+13125550199", token])
        expect(text).not.toContain(secret);
      const aboutLead = lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => JSON.stringify(l).includes(leadId));
      expect(aboutLead.length).toBeGreaterThan(3);
      // Lines from the run itself (no request) all carry the leadId as a field.
      const runLines = lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter(
          (l) =>
            typeof l.msg === "string" && /^(running lead|node done|lead completed|lead routed)/.test(l.msg),
        );
      expect(runLines.length).toBeGreaterThan(0);
      expect(runLines.every((l) => l.leadId === leadId)).toBe(true);
    } finally {
      await service.close();
    }
  });
});
