import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HubSpotCompanyEnricher } from "../tools/hubspot/hubspot-company-enricher.ts";
import {
  classifyHubSpotError,
  HubSpotCrm,
  HubSpotHttpError,
  hubspotPolicy,
} from "../tools/hubspot/hubspot-crm.ts";
import { VendorCaller, VendorError } from "../tools/resilience.ts";
import { HubSpotFake } from "./fakes/hubspot-fake.ts";

const token = "pat-test-token";
const clock = () => new Date("2025-03-04T10:00:00.000Z");

function testCaller(overrides: Partial<Parameters<typeof hubspotPolicy>[0]> = {}) {
  return new VendorCaller(
    hubspotPolicy({
      timeoutMs: 300,
      retries: 2,
      baseDelayMs: 10,
      maxDelayMs: 40,
      maxRetryAfterMs: 1_000,
      breaker: { volumeThreshold: 3, errorThresholdPercentage: 50, resetTimeoutMs: 60_000 },
      ...overrides,
    }),
  );
}

describe("HubSpotCrm against a loopback HubSpot", () => {
  let fake: HubSpotFake;
  let caller: VendorCaller;
  let crm: HubSpotCrm;

  beforeEach(async () => {
    fake = await HubSpotFake.start({ token });
    caller = testCaller();
    crm = new HubSpotCrm({
      accessToken: token,
      basePath: fake.url,
      caller,
      clock,
      ownerIdMap: { "ae-anna": "7001" },
    });
  });

  afterEach(async () => {
    caller.shutdown();
    await fake.close();
  });

  it("finds a company by domain with its owner and firmographics", async () => {
    fake.addCompany({ name: "Other", domain: "other.io" });
    const acme = fake.addCompany({
      name: "Acme GmbH",
      domain: "acme.de",
      hubspot_owner_id: "7001",
      industry: "COMPUTER_SOFTWARE",
      numberofemployees: "250",
      annualrevenue: "42000000",
      country: "Germany",
    });

    const company = await crm.findCompanyByDomain("ACME.de");

    expect(company).toEqual({
      id: acme.id,
      name: "Acme GmbH",
      domain: "acme.de",
      ownerId: "7001",
      industry: "COMPUTER_SOFTWARE",
      employees: 250,
      revenue: 42_000_000,
      country: "Germany",
    });
    const [search] = fake.requestsTo("POST", "/crm/v3/objects/companies/search");
    expect(search?.headers.authorization).toBe(`Bearer ${token}`);
    expect(search?.body).toMatchObject({
      filterGroups: [{ filters: [{ propertyName: "domain", operator: "EQ", value: "acme.de" }] }],
      limit: 1,
    });
    expect((search?.body as { properties?: string[] } | undefined)?.properties).toEqual(
      expect.arrayContaining([
        "hubspot_owner_id",
        "industry",
        "numberofemployees",
        "annualrevenue",
        "country",
      ]),
    );
    expect(await crm.findCompanyByDomain("nobody.example")).toBeNull();
  });

  it("upserts a contact by email: created first, then updated with the same id", async () => {
    const first = await crm.upsertContact({
      email: "Jane.Doe@Acme.de",
      firstName: "Jane",
      lastName: "Doe",
      title: "CTO",
      company: "Acme GmbH",
      country: "DE",
      leadId: "lead-1",
    });
    const second = await crm.upsertContact({ email: "jane.doe@acme.de", title: "CEO", leadId: "lead-2" });

    expect(first.created).toBe(true);
    expect(second).toEqual({ contactId: first.contactId, created: false });
    const upserts = fake.requestsTo("POST", "/crm/v3/objects/contacts/batch/upsert");
    expect(upserts).toHaveLength(2);
    expect(upserts[0]?.body).toEqual({
      inputs: [
        {
          idProperty: "email",
          id: "jane.doe@acme.de",
          properties: {
            email: "jane.doe@acme.de",
            firstname: "Jane",
            lastname: "Doe",
            jobtitle: "CTO",
            company: "Acme GmbH",
            country: "DE",
          },
        },
      ],
    });
    expect(fake.contacts).toHaveLength(1);
    expect(fake.contacts[0]?.properties.jobtitle).toBe("CEO");
  });

  it("sets the owner (mapped id) and the nurture status with PATCHes", async () => {
    const { contactId } = await crm.upsertContact({ email: "a@acme.de", leadId: "lead-1" });

    await crm.setOwner(contactId, "ae-anna");
    await crm.setOwner(contactId, "7002");
    await crm.setNurtureStatus(contactId, "NURTURE");

    const patches = fake.requestsTo("PATCH", `/crm/v3/objects/contacts/${contactId}`);
    expect(patches.map((p) => p.body)).toEqual([
      { properties: { hubspot_owner_id: "7001" } },
      { properties: { hubspot_owner_id: "7002" } },
      { properties: { hs_lead_status: "NURTURE" } },
    ]);
  });

  it("creates a note and a task associated with the contact", async () => {
    const { contactId } = await crm.upsertContact({ email: "a@acme.de", leadId: "lead-1" });

    const { noteId } = await crm.addNote(contactId, "Scored 82 (hot): ICP industry, VP title.");
    const { taskId } = await crm.createTask(contactId, {
      subject: "Call Acme within 1h",
      body: "Hot inbound lead",
      dueAt: "2025-03-04T11:00:00Z",
      ownerId: "ae-anna",
    });

    expect(noteId).toBe(fake.notes[0]?.id);
    expect(taskId).toBe(fake.tasks[0]?.id);
    expect(fake.requestsTo("POST", "/crm/v3/objects/notes")[0]?.body).toEqual({
      properties: {
        hs_note_body: "Scored 82 (hot): ICP industry, VP title.",
        hs_timestamp: "2025-03-04T10:00:00.000Z",
      },
      associations: [
        {
          to: { id: contactId },
          types: [{ associationCategory: "HUBSPOT_DEFINED", associationTypeId: 202 }],
        },
      ],
    });
    expect(fake.requestsTo("POST", "/crm/v3/objects/tasks")[0]?.body).toEqual({
      properties: {
        hs_task_subject: "Call Acme within 1h",
        hs_task_body: "Hot inbound lead",
        hs_timestamp: "2025-03-04T11:00:00.000Z",
        hs_task_status: "NOT_STARTED",
        hubspot_owner_id: "7001",
      },
      associations: [
        {
          to: { id: contactId },
          types: [{ associationCategory: "HUBSPOT_DEFINED", associationTypeId: 204 }],
        },
      ],
    });
  });

  it("finds a contact's owner by email with one GET by the email property; unknown is null", async () => {
    const owned = fake.addContact({ email: "Returning@Acme.de", hubspot_owner_id: "7003" });
    fake.addContact({ email: "unowned@acme.de" });

    expect(await crm.findContactByEmail("returning@acme.de")).toEqual({ id: owned.id, ownerId: "7003" });
    expect(await crm.findContactByEmail("unowned@acme.de")).toEqual({ id: expect.any(String) });
    expect(await crm.findContactByEmail("nobody@acme.de")).toBeNull();
    const gets = fake.requestsTo("GET", /^\/crm\/v3\/objects\/contacts\//);
    expect(gets).toHaveLength(3);
    expect(gets[0]?.query).toMatchObject({ idProperty: "email", properties: "hubspot_owner_id" });
    // Not the search API: it lags behind writes and has its own, lower rate limit.
    expect(fake.requestsTo("POST", "/crm/v3/objects/contacts/search")).toEqual([]);
  });

  it("reads a contact by id with the properties asked for; an unknown id is null after one request", async () => {
    const contact = fake.addContact({
      email: "mql@acme.de",
      firstname: "Mia",
      lifecyclestage: "marketingqualifiedlead",
      jobtitle: "CTO",
    });

    const found = await crm.getContact(contact.id, ["email", "firstname", "jobtitle", "country"]);
    const missing = await crm.getContact("999999", ["email"]);

    expect(found?.id).toBe(contact.id);
    expect(found?.properties).toMatchObject({ email: "mql@acme.de", firstname: "Mia", jobtitle: "CTO" });
    // Unset properties (country) are left out rather than null.
    expect(found?.properties).not.toHaveProperty("country");
    expect(missing).toBeNull();
    const [get] = fake.requestsTo("GET", `/crm/v3/objects/contacts/${contact.id}`);
    expect(get?.queryAll.properties?.flatMap((p) => p.split(","))).toEqual([
      "email",
      "firstname",
      "jobtitle",
      "country",
    ]);
    // A 404 is an answer, not a failure: it is not retried.
    expect(fake.requestsTo("GET", "/crm/v3/objects/contacts/999999")).toHaveLength(1);
  });

  it("marks notes and tasks with their effect key and finds them again among the contact's", async () => {
    const { contactId } = await crm.upsertContact({ email: "a@acme.de", leadId: "lead-1" });
    const other = await crm.upsertContact({ email: "b@acme.de", leadId: "lead-2" });
    expect(await crm.findNote(contactId, "lead-1:crm:note")).toBeNull();
    // The same effect key on another contact's note is not this contact's.
    await crm.addNote(other.contactId, "other", "lead-1:crm:note");
    for (let i = 0; i < 150; i++) await crm.addNote(contactId, `note ${i}`, `lead-x${i}:crm:note`);
    const note = await crm.addNote(contactId, "Scored 82", "lead-1:crm:note");
    await crm.addNote(contactId, "later", "lead-1:crm:note-2");

    expect(fake.notes.find((n) => n.id === note.noteId)?.properties.hs_note_body).toBe(
      "Scored 82\nLeadGraph ref: lead-1:crm:note",
    );
    expect(await crm.findNote(contactId, "lead-1:crm:note")).toEqual(note);
    const searches = fake.requestsTo("POST", "/crm/v3/objects/notes/search");
    expect(searches.at(-1)?.body).toMatchObject({
      filterGroups: [
        { filters: [{ propertyName: "associations.contact", operator: "EQ", value: contactId }] },
      ],
      sorts: ["-hs_createdate"],
    });
    // Older than the first page of 100: found on the second.
    expect(await crm.findNote(contactId, "lead-x3:crm:note")).toMatchObject({ noteId: expect.any(String) });
    expect(await crm.findNote(contactId, "lead-9:crm:note")).toBeNull();

    const task = await crm.createTask(contactId, {
      subject: "Call",
      body: "Hot inbound lead",
      dueAt: "2025-03-04T11:00:00Z",
      effectKey: "lead-1:crm:task",
    });
    expect(fake.tasks[0]?.properties.hs_task_body).toBe("Hot inbound lead\nLeadGraph ref: lead-1:crm:task");
    expect(await crm.findTask(contactId, "lead-1:crm:task")).toEqual(task);
    expect(await crm.findTask(contactId, "lead-1:crm:nurture-task")).toBeNull();
  });

  it("lists owners across pages", async () => {
    for (let i = 0; i < 120; i++) fake.owners.push({ id: String(8000 + i), email: `o${i}@corp.test` });
    const owners = await crm.listOwners();
    expect(owners).toHaveLength(120);
    expect(fake.requestsTo("GET", /^\/crm\/v3\/owners\/?$/)).toHaveLength(2);
  });

  it("retries a 429 and succeeds", async () => {
    fake.addCompany({ name: "Acme", domain: "acme.de" });
    fake.inject({ kind: "status", status: 429, retryAfter: "0" }, { times: 1 });

    const company = await crm.findCompanyByDomain("acme.de");

    expect(company?.name).toBe("Acme");
    expect(fake.requestsTo("POST", "/crm/v3/objects/companies/search")).toHaveLength(2);
  });

  it("reads Retry-After from a 429 so the caller waits as long as HubSpot asked", async () => {
    const noRetry = testCaller({ retries: 0 });
    const strict = new HubSpotCrm({ accessToken: token, basePath: fake.url, caller: noRetry });
    fake.inject({ kind: "status", status: 429, retryAfter: "7" }, { times: 1 });

    const err = await strict.findCompanyByDomain("acme.de").catch((e: unknown) => e);
    noRetry.shutdown();

    expect(err).toBeInstanceOf(VendorError);
    expect(err).toMatchObject({ code: "rate_limited", status: 429, retryable: true });
    const cause = (err as VendorError).cause;
    expect(cause).toBeInstanceOf(HubSpotHttpError);
    expect((cause as HubSpotHttpError).retryAfterMs).toBe(7_000);
    expect(classifyHubSpotError(cause)).toMatchObject({ code: "rate_limited", retryAfterMs: 7_000 });
  });

  it("opens the circuit during a 5xx storm, then fails fast without calling HubSpot", async () => {
    fake.inject({ kind: "status", status: 503 }, { times: Number.POSITIVE_INFINITY });

    const first = await crm.findCompanyByDomain("acme.de").catch((e: unknown) => e);
    expect(first).toMatchObject({ name: "VendorError", code: "http", status: 503 });
    expect(caller.circuitOpen).toBe(true);

    const before = fake.requests.length;
    const second = await crm.findCompanyByDomain("acme.de").catch((e: unknown) => e);
    expect(second).toMatchObject({ name: "VendorError", code: "circuit_open" });
    expect(fake.requests.length).toBe(before);
  });

  it("times out a hung request and raises VendorError timeout after the retries", async () => {
    fake.inject({ kind: "hang" }, { times: Number.POSITIVE_INFINITY });

    const err = await crm.findCompanyByDomain("acme.de").catch((e: unknown) => e);

    expect(err).toBeInstanceOf(VendorError);
    expect(err).toMatchObject({ code: "timeout", retryable: true });
    const searches = fake.requestsTo("POST", "/crm/v3/objects/companies/search");
    expect(searches).toHaveLength(3);
  });

  it("does not retry a note create after a 5xx (it may have been stored)", async () => {
    const { contactId } = await crm.upsertContact({ email: "a@acme.de", leadId: "lead-1" });
    fake.inject({ kind: "status", status: 502 }, { times: 1, path: /\/objects\/notes$/ });

    const err = await crm.addNote(contactId, "note").catch((e: unknown) => e);

    expect(err).toMatchObject({ name: "VendorError", code: "http", status: 502, retryable: false });
    expect(fake.requestsTo("POST", "/crm/v3/objects/notes")).toHaveLength(1);
  });

  it("does not retry a task create that timed out, but does retry one rejected with 429", async () => {
    const { contactId } = await crm.upsertContact({ email: "a@acme.de", leadId: "lead-1" });
    const task = { subject: "Call", body: "b", dueAt: "2025-03-05T09:00:00Z" };

    fake.inject({ kind: "hang" }, { times: 1, path: /\/objects\/tasks$/ });
    const err = await crm.createTask(contactId, task).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "VendorError", code: "timeout", retryable: false });
    expect(fake.requestsTo("POST", "/crm/v3/objects/tasks")).toHaveLength(1);

    fake.inject({ kind: "status", status: 429, retryAfter: "0" }, { times: 1, path: /\/objects\/tasks$/ });
    await crm.createTask(contactId, task);
    expect(fake.requestsTo("POST", "/crm/v3/objects/tasks")).toHaveLength(3);
    expect(fake.tasks).toHaveLength(1);
  });

  it("keeps HubSpot's error message (which can echo personal data) out of the error", async () => {
    fake.inject(
      {
        kind: "status",
        status: 400,
        body: {
          status: "error",
          message: "Property values were not valid: jane.doe@acme.de",
          correlationId: "c-1",
          category: "VALIDATION_ERROR",
        },
      },
      { times: 1 },
    );

    const err = await crm
      .upsertContact({ email: "jane.doe@acme.de", leadId: "lead-1" })
      .catch((e: unknown) => e);

    expect(err).toMatchObject({ name: "VendorError", code: "http", status: 400, retryable: false });
    expect(String((err as Error).message)).toContain("VALIDATION_ERROR");
    expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).not.toContain("jane.doe");
    expect(String((err as Error).message)).not.toContain("jane.doe");
    expect(fake.requestsTo("POST", "/crm/v3/objects/contacts/batch/upsert")).toHaveLength(1);
  });

  it("rejects a bad token without retrying", async () => {
    const wrong = new HubSpotCrm({ accessToken: "nope", basePath: fake.url, caller });
    const err = await wrong.findCompanyByDomain("acme.de").catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "http", status: 401, retryable: false });
    expect(fake.requests).toHaveLength(1);
  });

  it("refuses a caller whose classify would retry creates", () => {
    const other = new VendorCaller({
      ...hubspotPolicy(),
      classify: () => ({ retryable: true, tripsCircuit: true, code: "http" }),
    });
    expect(() => new HubSpotCrm({ accessToken: token, caller: other })).toThrow(/hubspotPolicy/);
    other.shutdown();
  });

  it("feeds the HubSpot company enricher", async () => {
    fake.addCompany({
      name: "Acme GmbH",
      domain: "acme.de",
      industry: "COMPUTER_SOFTWARE",
      numberofemployees: "250",
      annualrevenue: "42000000",
      country: "Germany",
    });
    const enricher = new HubSpotCompanyEnricher(crm);

    const result = await enricher.enrich({ companyDomain: "acme.de" });

    expect(result?.values).toEqual({
      companyName: "Acme GmbH",
      industry: "software",
      employees: 250,
      revenue: 42_000_000,
      country: "DE",
    });
    expect(result?.confidence?.companyName).toBeLessThan(0.9);
  });
});
