import { describe, expect, it } from "vitest";
import { allCountryCodes, normalizeCountry } from "../domain/normalize/country.ts";
import { registrableDomain } from "../domain/normalize/domain.ts";
import { normalizeEmail } from "../domain/normalize/email.ts";
import { normalizePayload } from "../domain/normalize/lead.ts";
import { completeName } from "../domain/normalize/name.ts";
import { toE164 } from "../domain/normalize/phone.ts";
import { regionOf, regionTable } from "../domain/normalize/region.ts";
import { stateCode } from "../domain/normalize/us-ca-states.ts";
import type { Issue } from "../domain/types.ts";
import { initialState } from "../graph/build.ts";
import type { LeadState } from "../graph/state.ts";
import { ContactNotFoundError, createCaptureNode, InvalidLeadError } from "../nodes/capture.ts";
import { recordingCrm } from "./helpers/fakes.ts";

function leadOf(raw: unknown, forced?: Parameters<typeof normalizePayload>[1]) {
  const result = normalizePayload(raw, forced);
  if (!result.ok) throw new Error(`expected a lead, got rejection on ${result.field}: ${result.message}`);
  return result;
}

function stateWith(raw: unknown, source?: LeadState["source"]): LeadState {
  return initialState({ leadId: "lead-1", receivedAt: "2026-01-01T00:00:00.000Z", source, raw });
}

describe("company domain from website and email", () => {
  // [website, email, expected companyDomain]
  const cases: Array<[string | undefined, string, string | undefined]> = [
    ["https://www.Shop.Acme.co.uk/path?x", "jane@acme.co.uk", "acme.co.uk"],
    ["shop.acme.co.uk", "jane@other.com", "acme.co.uk"],
    ["acme.com.au", "jane@acme.com.au", "acme.com.au"],
    ["https://www.acme.com.au/about", "jane@gmail.com", "acme.com.au"],
    ["http://ACME.COM:8080/contact", "jane@acme.com", "acme.com"],
    ["www.acme.de.", "jane@acme.de", "acme.de"],
    ["//acme.io/pricing#plans", "jane@acme.io", "acme.io"],
    // github.io is a private public suffix: each Pages site is its own registrable domain.
    ["sub.example.github.io", "jane@example.com", "example.github.io"],
    ["https://acme.github.io", "jane@gmail.com", "acme.github.io"],
    [undefined, "jane@eu.mail.acme.co.jp", "acme.co.jp"],
    [undefined, "jane@acme-corp.com", "acme-corp.com"],
    [undefined, "jane@gmail.com", undefined],
    [undefined, "jane@yahoo.co.uk", undefined],
    [undefined, "jane@gmx.de", undefined],
    [undefined, "jane@mailinator.com", undefined],
    [undefined, "jane@guerrillamail.com", undefined],
    // An unusable website falls back to the email domain.
    ["localhost", "jane@acme.fr", "acme.fr"],
    ["http://192.168.0.1/", "jane@acme.fr", "acme.fr"],
    ["not a website", "jane@acme.fr", "acme.fr"],
  ];
  it.each(cases)("website %s, email %s → %s", (website, email, expected) => {
    const { lead } = leadOf({ email, website });
    expect(lead.companyDomain).toBe(expected);
  });

  it("warns when the website gives no domain", () => {
    const { warnings } = leadOf({ email: "jane@acme.fr", website: "localhost" });
    expect(warnings.map((w) => w.code)).toEqual(["invalid_website"]);
  });

  it.each([
    ["ACME.COM.", "acme.com"],
    ["https://a.b.c.acme.co.uk", "acme.co.uk"],
    ["", undefined],
    ["acme", undefined],
  ])("registrableDomain(%j) → %s", (input, expected) => {
    expect(registrableDomain(input)).toBe(expected);
  });
});

describe("country", () => {
  const cases: Array<[string, string | undefined]> = [
    ["uk", "GB"],
    ["UK", "GB"],
    ["U.K.", "GB"],
    ["Great Britain", "GB"],
    ["England", "GB"],
    ["Scotland", "GB"],
    ["Wales", "GB"],
    ["united kingdom", "GB"],
    ["Deutschland", "DE"],
    ["Allemagne", "DE"],
    ["Germany", "DE"],
    ["de", "DE"],
    ["DEU", "DE"],
    ["united states of america", "US"],
    ["USA", "US"],
    ["U.S.A.", "US"],
    ["America", "US"],
    ["us", "US"],
    ["ESP", "ES"],
    ["España", "ES"],
    ["Espana", "ES"],
    ["Côte d'Ivoire", "CI"],
    ["COTE D’IVOIRE", "CI"],
    ["Ivory Coast", "CI"],
    ["UAE", "AE"],
    ["United Arab Emirates", "AE"],
    ["Holland", "NL"],
    ["The Netherlands", "NL"],
    ["South Korea", "KR"],
    ["Korea", "KR"],
    ["Russia", "RU"],
    ["Czechia", "CZ"],
    ["Czech Republic", "CZ"],
    ["Schweiz", "CH"],
    ["Österreich", "AT"],
    ["Brasil", "BR"],
    ["México", "MX"],
    ["日本", "JP"],
    ["Kosovo", "XK"],
    ["Narnia", undefined],
    // Two countries answer to "Congo": refuse rather than guess.
    ["Congo", undefined],
    ["XX", undefined],
    ["constructor", undefined],
  ];
  it.each(cases)("%j → %s", (input, expected) => {
    expect(normalizeCountry(input)).toBe(expected);
  });

  it("sets the region from the country", () => {
    expect(leadOf({ email: "a@acme.com", country: "Deutschland" }).lead).toMatchObject({
      country: "DE",
      region: "EMEA",
    });
    expect(leadOf({ email: "a@acme.com", country: "canada" }).lead.region).toBe("NA");
    expect(leadOf({ email: "a@acme.com", country: "Brazil" }).lead.region).toBe("LATAM");
    expect(leadOf({ email: "a@acme.com", country: "Japan" }).lead.region).toBe("APAC");
  });

  it("drops an unknown country with a warning, and keeps the lead", () => {
    const { lead, warnings } = leadOf({ email: "a@acme.com", country: "Narnia" });
    expect(lead.country).toBeUndefined();
    expect(lead.region).toBeUndefined();
    expect(warnings).toEqual([expect.objectContaining({ node: "capture", code: "unknown_country" })]);
  });

  it("gives every ISO alpha-2 code exactly one region", () => {
    const table = regionTable();
    const codes = table.map(([code]) => code);
    expect(new Set(codes).size).toBe(codes.length);
    expect([...codes].sort()).toEqual([...allCountryCodes()].sort());
  });

  it.each([
    ["US", "NA"],
    ["CA", "NA"],
    ["MX", "LATAM"],
    ["PR", "LATAM"],
    ["GB", "EMEA"],
    ["AE", "EMEA"],
    ["ZA", "EMEA"],
    ["IN", "APAC"],
    ["NZ", "APAC"],
  ])("region of %s is %s", (country, region) => {
    expect(regionOf(country)).toBe(region);
  });
});

describe("phone", () => {
  // [phone, country, expected E.164]
  const cases: Array<[string, string | undefined, string | undefined]> = [
    ["+44 20 7946 0958", undefined, "+442079460958"],
    ["+44 20 7946 0958", "US", "+442079460958"],
    ["(415) 555-0132", "US", "+14155550132"],
    ["415.555.0132", "US", "+14155550132"],
    ["+1 415 555 0132", undefined, "+14155550132"],
    ["0044 20 7946 0958", "GB", "+442079460958"],
    ["020 7946 0958", "GB", "+442079460958"],
    ["030 1234567", "DE", "+49301234567"],
    ["02 9374 4000", "AU", "+61293744000"],
    ["(415) 555-0132", undefined, undefined],
    ["12345", "US", undefined],
    ["call me", "US", undefined],
    ["+999 123", undefined, undefined],
  ];
  it.each(cases)("%j in %s → %s", (phone, country, expected) => {
    expect(toE164(phone, country)).toBe(expected);
  });

  it("reads a national number in the lead's country", () => {
    const { lead } = leadOf({ email: "a@acme.com", phone: "(415) 555-0132", country: "United States" });
    expect(lead.phone).toBe("+14155550132");
  });

  it("drops an invalid phone with a warning that does not echo the number", () => {
    const { lead, warnings } = leadOf({ email: "a@acme.com", phone: "555-01", country: "US" });
    expect(lead.phone).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ code: "invalid_phone" });
    expect(warnings[0]?.message).not.toContain("555");
  });
});

describe("state and name", () => {
  it.each([
    ["California", "US", "CA"],
    ["california", "US", "CA"],
    ["ca", "US", "CA"],
    ["New York", "US", "NY"],
    ["Washington, D.C.", "US", "DC"],
    ["Ontario", "CA", "ON"],
    ["Québec", "CA", "QC"],
    ["Quebec", undefined, "QC"],
    ["british columbia", undefined, "BC"],
    ["Ontario", "US", undefined],
    ["Bayern", "DE", undefined],
  ])("stateCode(%j, %s) → %s", (input, country, expected) => {
    expect(stateCode(input, country)).toBe(expected);
  });

  it("keeps a non-US/CA state as given and warns on an unknown US state", () => {
    expect(leadOf({ email: "a@acme.de", country: "DE", state: "Bayern" }).lead.state).toBe("Bayern");
    const us = leadOf({ email: "a@acme.com", country: "US", state: "Atlantis" });
    expect(us.lead.state).toBe("Atlantis");
    expect(us.warnings.map((w) => w.code)).toEqual(["unknown_state"]);
  });

  it.each([
    [{ fullName: "Jane Doe" }, { firstName: "Jane", lastName: "Doe", fullName: "Jane Doe" }],
    [
      { fullName: "Mary Ann  Smith" },
      { firstName: "Mary", lastName: "Ann Smith", fullName: "Mary Ann Smith" },
    ],
    [{ fullName: "Doe, Jane" }, { firstName: "Jane", lastName: "Doe", fullName: "Jane Doe" }],
    [{ fullName: "Cher" }, { firstName: "Cher", fullName: "Cher" }],
    [
      { firstName: "Jane", lastName: "Doe" },
      { firstName: "Jane", lastName: "Doe", fullName: "Jane Doe" },
    ],
    [{ lastName: "Doe" }, { lastName: "Doe", fullName: "Doe" }],
    [{}, {}],
  ])("completeName(%j)", (given, expected) => {
    expect(completeName(given)).toEqual(expected);
  });
});

describe("email", () => {
  it.each([
    [" Jane.Doe+leads@Acme.COM ", "jane.doe+leads@acme.com"],
    ["mailto:jane@acme.io", "jane@acme.io"],
    ["o'brien@acme.ie", "o'brien@acme.ie"],
  ])("accepts %j", (input, expected) => {
    expect(normalizeEmail(input)).toEqual({ ok: true, email: expected, domain: expected.split("@")[1] });
  });

  it.each([
    "jane",
    "jane@acme",
    "jane@@acme.com",
    "jane doe@acme.com",
    "jane@acme .com",
    ".jane@acme.com",
    "jane..doe@acme.com",
    "jane@-acme.com",
    "jane@acme.c",
    "jane@acme.123",
    "@acme.com",
  ])("rejects %j as malformed", (input) => {
    expect(normalizeEmail(input)).toEqual({ ok: false, reason: "malformed" });
  });
});

describe("generic payloads", () => {
  it("reads snake_case keys", () => {
    const { source, lead, warnings } = leadOf({
      email: "Jane@Acme.com",
      first_name: "Jane",
      last_name: "Doe",
      company: "Acme",
      job_title: "VP of Sales",
      country: "US",
      state: "california",
      postal_code: "94105",
      website: "https://acme.com",
      phone: "(415) 555-0132",
      source: "Partner",
      campaign: "q3-webinar",
      form: "Demo request",
      message: "We need pricing",
      utm_source: "google",
      utm_medium: "cpc",
    });
    expect(source).toBe("generic");
    expect(warnings).toEqual([]);
    expect(lead).toEqual({
      email: "jane@acme.com",
      emailDomain: "acme.com",
      firstName: "Jane",
      lastName: "Doe",
      fullName: "Jane Doe",
      company: "Acme",
      companyDomain: "acme.com",
      title: "VP of Sales",
      country: "US",
      region: "NA",
      state: "CA",
      postalCode: "94105",
      phone: "+14155550132",
      source: "partner",
      campaign: "q3-webinar",
      form: "Demo request",
      message: "We need pricing",
      utm: { source: "google", medium: "cpc" },
    });
  });

  it("reads camelCase keys, a full name and a nested utm object", () => {
    const { lead } = leadOf({
      email: "max@firma.de",
      fullName: "Max Mustermann",
      jobTitle: "Geschäftsführer",
      postalCode: "10115",
      url: "www.firma.de",
      country: "Deutschland",
      province: "Berlin",
      utm: { source: "linkedin", campaign: "dach", utm_term: "crm" },
    });
    expect(lead).toMatchObject({
      firstName: "Max",
      lastName: "Mustermann",
      fullName: "Max Mustermann",
      title: "Geschäftsführer",
      postalCode: "10115",
      companyDomain: "firma.de",
      country: "DE",
      state: "Berlin",
      source: "web",
      utm: { source: "linkedin", campaign: "dach", term: "crm" },
    });
  });

  it("prefers a flat utm_* key over the nested object", () => {
    const { lead } = leadOf({ email: "a@acme.com", utm_source: "flat", utm: { source: "nested" } });
    expect(lead.utm).toEqual({ source: "flat" });
  });
});

describe("HubSpot payloads", () => {
  it("reads the legacy { vid, properties: { x: { value } } } shape", () => {
    const { source, lead } = leadOf({
      vid: 123,
      "canonical-vid": 123,
      properties: {
        email: { value: "Bob@Globex.com", versions: [] },
        firstname: { value: "Bob" },
        lastname: { value: "Stone" },
        company: { value: "Globex" },
        jobtitle: { value: "Head of Engineering" },
        country: { value: "United Kingdom" },
        zip: { value: "EC1A 1BB" },
        phone: { value: "020 7946 0958" },
        hs_analytics_source: { value: "PAID_SEARCH" },
      },
    });
    expect(source).toBe("hubspot-workflow");
    expect(lead).toMatchObject({
      email: "bob@globex.com",
      firstName: "Bob",
      lastName: "Stone",
      company: "Globex",
      companyDomain: "globex.com",
      title: "Head of Engineering",
      country: "GB",
      postalCode: "EC1A 1BB",
      phone: "+442079460958",
      source: "hubspot",
      hubspotContactId: "123",
      utm: { source: "PAID_SEARCH" },
    });
  });

  it("reads the flat { objectId, properties } shape", () => {
    const { source, lead } = leadOf({
      objectId: 987,
      properties: {
        email: "ana@initech.es",
        firstname: "Ana",
        lastname: "García",
        jobtitle: "Engineering Manager",
        country: "España",
        state: "Madrid",
        website: "https://www.initech.es",
      },
    });
    expect(source).toBe("hubspot-workflow");
    expect(lead).toMatchObject({
      email: "ana@initech.es",
      fullName: "Ana García",
      country: "ES",
      state: "Madrid",
      companyDomain: "initech.es",
      hubspotContactId: "987",
      source: "hubspot",
    });
  });

  it("reads hs_object_id inside properties, and properties at the top level", () => {
    const nested = leadOf({ properties: { hs_object_id: "555", email: "x@umbrella.com" } });
    expect(nested.lead.hubspotContactId).toBe("555");
    const top = leadOf({ hs_object_id: 42, email: "y@umbrella.com", firstname: "Yu", state: "Ontario" });
    expect(top.source).toBe("hubspot-workflow");
    expect(top.lead).toMatchObject({
      hubspotContactId: "42",
      firstName: "Yu",
      state: "ON",
      source: "hubspot",
    });
  });

  it("lets a forced source override detection", () => {
    const generic = leadOf({ email: "a@acme.com", properties: { email: "b@other.com" } }, "generic");
    expect(generic.source).toBe("generic");
    expect(generic.lead.email).toBe("a@acme.com");
    const hubspot = leadOf({ email: "a@acme.com" }, "hubspot-contact");
    expect(hubspot.source).toBe("hubspot-contact");
    expect(hubspot.lead.source).toBe("hubspot");
  });

  it("uses an explicit source property over the hubspot default", () => {
    expect(
      leadOf({ vid: 1, properties: { email: { value: "a@acme.com" }, source: { value: "Event" } } }).lead
        .source,
    ).toBe("event");
  });
});

describe("rejections", () => {
  it.each([
    [{ first_name: "Jane" }, "email", "email is required"],
    [{ email: "   " }, "email", "email is required"],
    [{ email: null }, "email", "email is required"],
    [{ email: ["jane@acme.com"] }, "email", "email is required"],
    [{ properties: { firstname: { value: "Bob" } } }, "email", "email is required"],
    [{ email: "jane(at)acme.com" }, "email", "email is not a valid address (expected name@company.tld)"],
    [{ email: 12345 }, "email", "email is not a valid address (expected name@company.tld)"],
    ["jane@acme.com", "body", "payload must be a JSON object"],
    [null, "body", "payload must be a JSON object"],
    [[{ email: "a@acme.com" }, { email: "b@acme.com" }], "body", "payload must be a JSON object"],
  ])("rejects %j naming %s", (raw, field, message) => {
    expect(normalizePayload(raw)).toEqual({ ok: false, field, message });
  });

  it("throws InvalidLeadError from the node, naming the field", async () => {
    const node = createCaptureNode(recordingCrm());
    const error = await node(stateWith({ email: "nope" })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidLeadError);
    expect(error).toMatchObject({ name: "InvalidLeadError", code: "invalid_lead", field: "email" });
  });

  it("returns source, lead and warnings from the node", async () => {
    const update = await createCaptureNode(recordingCrm())(
      stateWith({ email: "a@acme.com", country: "Narnia" }, "generic"),
    );
    expect(Object.keys(update).sort()).toEqual(["lead", "source", "warnings"]);
    expect(update.lead?.email).toBe("a@acme.com");
    expect((update.warnings as Issue[]).map((w) => w.code)).toEqual(["unknown_country"]);
  });
});

describe("HubSpot app webhook events", () => {
  const event = {
    eventId: 3816279480,
    subscriptionId: 22,
    portalId: 33,
    appId: 1160452,
    occurredAt: 1462216307945,
    subscriptionType: "contact.creation",
    attemptNumber: 0,
    objectId: 1246978,
    changeSource: "IMPORT",
  };

  function crmWith(properties: Record<string, string> | null) {
    const crm = recordingCrm();
    crm.getContact = async (id, wanted) => {
      crm.calls.push({ op: "getContact", args: [id, wanted] });
      return properties && { id, properties };
    };
    return crm;
  }

  it("reads the event's contact through the CRM once and normalises it as a HubSpot contact", async () => {
    const crm = crmWith({ email: "Mia@Acme.de", firstname: "Mia", jobtitle: "CTO", country: "Germany" });
    const update = await createCaptureNode(crm)(stateWith(event, "hubspot-event"));
    expect(update.source).toBe("hubspot-event");
    expect(update.lead).toMatchObject({
      email: "mia@acme.de",
      firstName: "Mia",
      title: "CTO",
      country: "DE",
      source: "hubspot",
      hubspotContactId: "1246978",
    });
    expect(crm.calls.map((c) => c.op)).toEqual(["getContact"]);
    expect(crm.calls[0]?.args[0]).toBe("1246978");
    expect(crm.calls[0]?.args[1]).toEqual(expect.arrayContaining(["email", "firstname", "jobtitle"]));
  });

  it("fails with a reason naming the contact when the CRM does not have it", async () => {
    const local = await createCaptureNode(crmWith(null))(stateWith(event, "hubspot-event")).catch((e) => e);
    expect(local).toBeInstanceOf(ContactNotFoundError);
    expect(local.message).toMatch(/HubSpot contact 1246978 cannot be read: HubSpot is not configured/);
    expect(local.message).toMatch(/HUBSPOT_ACCESS_TOKEN/);
    const hubspot = Object.assign(crmWith(null), { name: "hubspot" });
    const gone = await createCaptureNode(hubspot)(stateWith(event, "hubspot-event")).catch((e) => e);
    expect(gone.message).toMatch(/HubSpot contact 1246978 was not found/);
  });

  it("fails naming email when the contact has none, and naming the field of a broken event", async () => {
    const noEmail = await createCaptureNode(crmWith({ firstname: "Anon" }))(
      stateWith(event, "hubspot-event"),
    ).catch((e) => e);
    expect(noEmail).toMatchObject({ name: "InvalidLeadError", field: "email" });
    expect(noEmail.message).toBe("HubSpot contact 1246978: email is required");
    const broken = await createCaptureNode(crmWith({}))(
      stateWith({ ...event, objectId: undefined }, "hubspot-event"),
    ).catch((e) => e);
    expect(broken).toMatchObject({ name: "InvalidLeadError", field: "objectId" });
  });
});

describe("web forms and list-import rows", () => {
  it("maps common, HubSpot-form and Unbounce names, and skips control fields", () => {
    const { lead } = leadOf(
      {
        "Work Email": "ada@example.co.uk",
        fname: "Ada",
        lastname: "Lovelace",
        company_name: "Example Ltd",
        job_title: "VP Engineering",
        country: "United Kingdom",
        telephone: "020 7946 0958",
        utm_source: "google",
        hs_context: JSON.stringify({ pageName: "Demo request", pageUrl: "https://example.co.uk/demo" }),
        _redirect: "https://example.co.uk/thanks",
      },
      "form",
    );
    expect(lead).toMatchObject({
      email: "ada@example.co.uk",
      firstName: "Ada",
      lastName: "Lovelace",
      company: "Example Ltd",
      title: "VP Engineering",
      country: "GB",
      phone: "+442079460958",
      form: "Demo request",
      source: "web",
      utm: { source: "google" },
    });
  });

  it("reads Unbounce's data.json lists and repeated fields", () => {
    const { lead } = leadOf(
      {
        "data.json": JSON.stringify({
          email_address: ["bob@acme.io"],
          first_name: ["Bob"],
          page_name: ["Spring"],
        }),
        page_id: "abc",
        company: ["", "Acme"],
      },
      "form",
    );
    expect(lead).toMatchObject({ email: "bob@acme.io", firstName: "Bob", form: "Spring", company: "Acme" });
  });

  it("an import row's channel is import unless the row names one", () => {
    expect(leadOf({ email: "c@acme.io" }, "import").lead.source).toBe("import");
    expect(leadOf({ email: "c@acme.io", "Lead Source": "Event" }, "import").lead.source).toBe("event");
  });
});

describe("weird input", () => {
  it("treats nulls, arrays and objects as absent and coerces numbers", () => {
    const { lead, warnings } = leadOf({
      email: "a@acme.com",
      first_name: null,
      last_name: ["Doe"],
      company: { name: "Acme" },
      title: true,
      state: null,
      country: "US",
      zip: 94105,
      phone: 4155550132,
      utm: "not-an-object",
      source: 7,
    });
    expect(lead).toEqual({
      email: "a@acme.com",
      emailDomain: "acme.com",
      companyDomain: "acme.com",
      country: "US",
      region: "NA",
      postalCode: "94105",
      phone: "+14155550132",
      source: "7",
      utm: {},
    });
    expect(warnings).toEqual([]);
  });

  it("unwraps a one-event HubSpot batch", () => {
    expect(leadOf([{ objectId: 1, properties: { email: "a@acme.com" } }]).lead.hubspotContactId).toBe("1");
  });

  it("truncates over-long text with a warning per field", () => {
    const { lead, warnings } = leadOf({
      email: "a@acme.com",
      message: "m".repeat(2500),
      company: "c".repeat(400),
    });
    expect(lead.message).toHaveLength(2000);
    expect(lead.company).toHaveLength(300);
    expect(warnings.map((w) => w.code)).toEqual(["truncated", "truncated"]);
    expect(warnings.map((w) => w.message).join(" ")).toMatch(
      /message.*2000.*company.*300|company.*300.*message.*2000/,
    );
  });

  it("treats empty strings as absent", () => {
    const { lead, warnings } = leadOf({
      email: "a@acme.com",
      country: "",
      phone: " ",
      website: "",
      company: "",
    });
    expect(lead).not.toHaveProperty("country");
    expect(lead).not.toHaveProperty("phone");
    expect(lead).not.toHaveProperty("company");
    expect(lead.companyDomain).toBe("acme.com");
    expect(warnings).toEqual([]);
  });
});
