import { describe, expect, it } from "vitest";
import { flattenFacts, groundAssessment } from "../domain/scoring/grounding.ts";
import type { Enrichment, LlmAssessment, NormalizedLead } from "../domain/types.ts";

const lead: NormalizedLead = {
  email: "dana@acme.io",
  emailDomain: "acme.io",
  firstName: "Dana",
  lastName: "Smith",
  company: "Acme",
  companyDomain: "acme.io",
  title: "VP Engineering",
  country: "DE",
  region: "EMEA",
  source: "web",
  form: "demo-request",
  message: "We are evaluating lead routing tools and need something live before Q3. Budget is approved.",
  utm: { source: "google", campaign: "routing-q2" },
};

const enrichment: Enrichment = {
  values: {
    freeMail: false,
    seniority: "vp",
    industry: "Software",
    employees: 480,
    country: "DE",
    techStack: ["Salesforce", "Snowflake"],
  },
  provenance: {},
};

const facts = flattenFacts(lead, enrichment);

function answer(adjustment: number, reasons: LlmAssessment["reasons"]): LlmAssessment {
  return { adjustment, reasons };
}

describe("flattenFacts", () => {
  it("names every lead and enrichment field with a dotted path", () => {
    expect(facts).toMatchObject({
      "lead.title": "VP Engineering",
      "lead.country": "DE",
      "lead.utm.campaign": "routing-q2",
      "enrichment.industry": "Software",
      "enrichment.employees": 480,
      "enrichment.freeMail": false,
      "enrichment.techStack": "Salesforce, Snowflake",
    });
  });

  it("keeps known fields without a value as undefined", () => {
    const bare = flattenFacts(lead, undefined);
    expect(Object.hasOwn(bare, "enrichment.industry")).toBe(true);
    expect(bare["enrichment.industry"]).toBeUndefined();
  });
});

describe("groundAssessment", () => {
  it("accepts evidence that matches the data, loosely on case and number formatting", () => {
    const result = groundAssessment(
      answer(8, [
        {
          text: "ICP industry and size",
          evidence: [
            { field: "enrichment.industry", value: "software" },
            { field: "enrichment.employees", value: "480" },
          ],
        },
        { text: "Senior buyer", evidence: [{ field: "lead.title", value: "vp engineering" }] },
        { text: "Business email", evidence: [{ field: "enrichment.freeMail", value: false }] },
        { text: "Uses Salesforce", evidence: [{ field: "enrichment.techStack", value: "salesforce" }] },
      ]),
      facts,
      15,
    );

    expect(result).toEqual({
      ok: true,
      adjustment: 8,
      proposed: 8,
      reasons: ["ICP industry and size", "Senior buyer", "Business email", "Uses Salesforce"],
      evidence: [
        { field: "enrichment.industry", value: "software" },
        { field: "enrichment.employees", value: "480" },
        { field: "lead.title", value: "vp engineering" },
        { field: "enrichment.freeMail", value: false },
        { field: "enrichment.techStack", value: "salesforce" },
      ],
    });
  });

  it("rejects the whole answer when one citation conflicts with the data", () => {
    const result = groundAssessment(
      answer(10, [
        { text: "Senior buyer", evidence: [{ field: "lead.title", value: "VP Engineering" }] },
        {
          text: "Fintech is our best segment",
          evidence: [{ field: "enrichment.industry", value: "Fintech" }],
        },
      ]),
      facts,
      15,
    );

    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toContain("enrichment.industry");
    expect(result.reason).toContain('"Software"');
    expect(result.reason).toContain('"Fintech"');
  });

  it("rejects a conflicting number", () => {
    const result = groundAssessment(
      answer(5, [{ text: "Enterprise size", evidence: [{ field: "enrichment.employees", value: 5000 }] }]),
      facts,
      15,
    );
    expect(result).toEqual({
      ok: false,
      reason: "evidence conflicts with the data: enrichment.employees is 480, the model cited 5000",
    });
  });

  it("rejects a firmographic claim when the lead has no enrichment", () => {
    const result = groundAssessment(
      answer(12, [
        { text: "Large software company", evidence: [{ field: "enrichment.employees", value: 2000 }] },
      ]),
      flattenFacts(lead, undefined),
      15,
    );
    expect(result).toEqual({
      ok: false,
      reason: "evidence cites enrichment.employees, which has no value for this lead",
    });
  });

  it("rejects a citation of a field that does not exist", () => {
    const result = groundAssessment(
      answer(7, [{ text: "Big budget", evidence: [{ field: "lead.budget", value: "1M" }] }]),
      facts,
      15,
    );
    expect(result).toEqual({
      ok: false,
      reason: "evidence cites lead.budget, which is not a field of the lead",
    });
  });

  it("drops reasons without evidence, and with none left the adjustment is 0", () => {
    const someLeft = groundAssessment(
      answer(9, [
        { text: "Gut feeling", evidence: [] },
        { text: "Senior buyer", evidence: [{ field: "lead.title", value: "VP Engineering" }] },
      ]),
      facts,
      15,
    );
    expect(someLeft).toMatchObject({ ok: true, adjustment: 9, reasons: ["Senior buyer"] });

    const noneLeft = groundAssessment(answer(9, [{ text: "Gut feeling", evidence: [] }]), facts, 15);
    expect(noneLeft).toEqual({ ok: true, adjustment: 0, proposed: 9, reasons: [], evidence: [] });
  });

  it("clamps the adjustment to the bound both ways and keeps the proposal", () => {
    const reason = [{ text: "Senior buyer", evidence: [{ field: "lead.title", value: "VP Engineering" }] }];
    expect(groundAssessment(answer(40, reason), facts, 15)).toMatchObject({
      ok: true,
      adjustment: 15,
      proposed: 40,
    });
    expect(groundAssessment(answer(-40, reason), facts, 15)).toMatchObject({
      ok: true,
      adjustment: -15,
      proposed: -40,
    });
    expect(groundAssessment(answer(-3, reason), facts, 15)).toMatchObject({ ok: true, adjustment: -3 });
  });

  it("rejects a non-finite adjustment", () => {
    const reason = [{ text: "Senior buyer", evidence: [{ field: "lead.title", value: "VP Engineering" }] }];
    expect(groundAssessment(answer(Number.NaN, reason), facts, 15).ok).toBe(false);
    expect(groundAssessment(answer(Number.POSITIVE_INFINITY, reason), facts, 15).ok).toBe(false);
  });

  it("accepts a quote from the message and rejects words the lead never wrote", () => {
    const quoted = groundAssessment(
      answer(6, [
        { text: "Timeline and budget", evidence: [{ field: "lead.message", value: "budget is  APPROVED" }] },
      ]),
      facts,
      15,
    );
    expect(quoted).toMatchObject({ ok: true, adjustment: 6 });

    const invented = groundAssessment(
      answer(6, [{ text: "Urgent", evidence: [{ field: "lead.message", value: "we must sign this week" }] }]),
      facts,
      15,
    );
    expect(invented.ok).toBe(false);
    if (!invented.ok) expect(invented.reason).toContain("lead.message");
  });

  it("rejects an empty quote, which every text would contain", () => {
    const result = groundAssessment(
      answer(6, [{ text: "Intent", evidence: [{ field: "lead.message", value: "  " }] }]),
      facts,
      15,
    );
    expect(result.ok).toBe(false);
  });
});
