import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { departmentOf, seniorityOf } from "../domain/enrich/title.ts";
import { isDisposableDomain, isFreeMailDomain } from "../domain/normalize/free-mail.ts";
import type { Enrichment, NormalizedLead } from "../domain/types.ts";
import { initialState } from "../graph/build.ts";
import type { LeadState } from "../graph/state.ts";
import { createEnrichNode, runEnrichers } from "../nodes/enrich.ts";
import { createDerivedEnricher } from "../tools/embedded/derived-enricher.ts";
import {
  type CompanyRecord,
  createFirmographicsEnricher,
  loadCompanies,
} from "../tools/embedded/firmographics-enricher.ts";
import type { Enricher } from "../tools/ports.ts";

const COMPANIES: CompanyRecord[] = [
  {
    domain: "acme.co.uk",
    name: "Acme Ltd",
    industry: "Software",
    employees: 1200,
    revenue: 250_000_000,
    country: "United Kingdom",
    techStack: ["salesforce", "aws"],
  },
  { domain: "https://www.globex.com", name: "Globex", industry: "retail", employees: 40, country: "US" },
  { domain: "acme.co.uk", name: "Duplicate Acme", industry: "nonprofit" },
];

function lead(overrides: Partial<NormalizedLead> = {}): NormalizedLead {
  return {
    email: "jane@acme.co.uk",
    emailDomain: "acme.co.uk",
    companyDomain: "acme.co.uk",
    source: "web",
    utm: {},
    ...overrides,
  };
}

function stateWith(captured: NormalizedLead | undefined): LeadState {
  return {
    ...initialState({ leadId: "lead-1", receivedAt: "2026-01-01T00:00:00.000Z", source: "generic", raw: {} }),
    lead: captured,
  };
}

function enricher(name: string, enrich: Enricher["enrich"]): Enricher {
  return { name, enrich };
}

describe("seniority from title", () => {
  it.each([
    ["VP of Engineering", "vp"],
    ["SVP Sales", "vp"],
    ["EVP, Operations", "vp"],
    ["Senior Vice President, Marketing", "vp"],
    ["Vice-President Finance", "vp"],
    ["Head of Sales", "director"],
    ["Director of IT", "director"],
    ["Art Director", "director"],
    ["Engineering Manager", "manager"],
    ["Team Lead", "manager"],
    ["Lead Engineer", "manager"],
    ["Customer Success Supervisor", "manager"],
    ["Co-Founder & CEO", "c-level"],
    ["Founder", "c-level"],
    ["Geschäftsführer", "c-level"],
    ["Chief of Staff", "c-level"],
    ["Owner", "c-level"],
    ["Business Owner", "c-level"],
    ["Product Owner", "individual"],
    ["Chief Marketing Officer", "c-level"],
    ["cto", "c-level"],
    ["President & CEO", "c-level"],
    ["Managing Director", "c-level"],
    ["Owner", "c-level"],
    ["Account Executive", "individual"],
    ["Software Engineer", "individual"],
    ["Head Chef", "individual"],
    ["Leader of the pack", "individual"],
    [undefined, undefined],
    ["   ", undefined],
  ])("%j → %s", (title, expected) => {
    expect(seniorityOf(title)).toBe(expected);
  });
});

describe("department from title", () => {
  it.each([
    ["VP of Engineering", "engineering"],
    ["Head of Sales", "sales"],
    ["Account Executive", "sales"],
    ["Chief Marketing Officer", "marketing"],
    ["CFO", "finance"],
    ["IT Manager", "it"],
    ["RevOps Analyst", "operations"],
    ["Director, Human Resources", "hr"],
    ["Product Manager", "product"],
    ["Co-Founder & CEO", "executive"],
    ["Geschäftsführer", "executive"],
    ["Data Scientist", "other"],
    [undefined, undefined],
  ])("%j → %s", (title, expected) => {
    expect(departmentOf(title)).toBe(expected);
  });
});

describe("free-mail and disposable domains", () => {
  it.each([
    ["gmail.com", true, false],
    ["yahoo.co.uk", true, false],
    ["gmx.de", true, false],
    ["googlemail.com", true, false],
    ["mailinator.com", true, true],
    ["guerrillamail.com", true, true],
    ["yopmail.com", true, true],
    ["acme.com", false, false],
    ["alibaba.com", false, false],
  ])("%s: freeMail %s, disposable %s", (domain, freeMail, disposable) => {
    expect(isFreeMailDomain(domain)).toBe(freeMail);
    expect(isDisposableDomain(domain)).toBe(disposable);
  });

  it("derives flags, seniority and department with provenance", async () => {
    const result = await createDerivedEnricher().enrich(
      lead({ email: "bob@mailinator.com", emailDomain: "mailinator.com", title: "VP of Engineering" }),
      { values: {}, provenance: {} },
    );
    // Disposable only: the score should penalise a throwaway address once.
    expect(result?.values).toEqual({
      freeMail: false,
      disposable: true,
      seniority: "vp",
      department: "engineering",
    });
  });

  it("leaves seniority and department out without a title", async () => {
    const result = await createDerivedEnricher().enrich(lead({ emailDomain: "gmail.com" }), {
      values: {},
      provenance: {},
    });
    expect(result?.values).toEqual({ freeMail: true, disposable: false });
  });
});

describe("firmographics", () => {
  it("finds a company by registrable domain, first record winning", async () => {
    const result = await createFirmographicsEnricher(COMPANIES).enrich(lead(), {
      values: {},
      provenance: {},
    });
    expect(result?.values).toEqual({
      companyName: "Acme Ltd",
      industry: "software",
      employees: 1200,
      revenue: 250_000_000,
      country: "GB",
      techStack: ["salesforce", "aws"],
    });
    expect(result?.confidence?.industry).toBe(0.9);
  });

  it("normalises record domains given as URLs", async () => {
    const result = await createFirmographicsEnricher(COMPANIES).enrich(
      lead({ companyDomain: "globex.com" }),
      {
        values: {},
        provenance: {},
      },
    );
    expect(result?.values.companyName).toBe("Globex");
  });

  it("knows nothing about other domains", async () => {
    const firmographics = createFirmographicsEnricher(COMPANIES);
    expect(
      await firmographics.enrich(lead({ companyDomain: "initech.com" }), { values: {}, provenance: {} }),
    ).toBeNull();
  });

  describe("loadCompanies", () => {
    let dir = "";
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "leadgraph-companies-"));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("reads a JSON array of records", async () => {
      const path = join(dir, "companies.json");
      await writeFile(path, JSON.stringify(COMPANIES.slice(0, 2)));
      expect(loadCompanies(path)).toEqual(COMPANIES.slice(0, 2));
    });

    it("names the bad record", async () => {
      const path = join(dir, "bad.json");
      await writeFile(
        path,
        JSON.stringify([
          { domain: "a.com", name: "A" },
          { domain: "b.com", employees: "many" },
        ]),
      );
      expect(() => loadCompanies(path)).toThrow(/\[1\]/);
    });
  });
});

describe("enricher chain", () => {
  it("lets earlier enrichers win a field and records provenance per field", async () => {
    const first = enricher("first", async () => ({
      values: { industry: "fintech" },
      confidence: { industry: 0.6 },
    }));
    const second = enricher("second", async () => ({ values: { industry: "retail", employees: 300 } }));
    const { enrichment, warnings } = await runEnrichers(lead(), [first, second]);
    expect(enrichment.values).toEqual({ industry: "fintech", employees: 300 });
    expect(enrichment.provenance).toEqual({
      industry: { source: "first", confidence: 0.6 },
      employees: { source: "second", confidence: 1 },
    });
    expect(warnings).toEqual([]);
  });

  it("passes what is known so far to later enrichers", async () => {
    let seen: Enrichment | undefined;
    const first = enricher("first", async () => ({ values: { companyName: "Acme" } }));
    const second = enricher("second", async (_lead, soFar) => {
      seen = soFar;
      return null;
    });
    await runEnrichers(lead(), [first, second]);
    expect(seen?.values).toEqual({ companyName: "Acme" });
    expect(seen?.provenance.companyName?.source).toBe("first");
  });

  it("turns a throwing enricher into a warning and goes on", async () => {
    const broken = enricher("broken", async () => {
      throw new Error("HTTP 503");
    });
    const syncThrow: Enricher = {
      name: "sync",
      enrich: () => {
        throw new TypeError("boom");
      },
    };
    const { enrichment, warnings } = await runEnrichers(lead(), [
      broken,
      syncThrow,
      createFirmographicsEnricher(COMPANIES),
    ]);
    expect(enrichment.values.companyName).toBe("Acme Ltd");
    expect(enrichment.provenance.companyName).toEqual({ source: "firmographics", confidence: 0.9 });
    expect(warnings).toEqual([
      { node: "enrich", code: "enricher_failed", message: "enricher broken skipped: Error: HTTP 503" },
      { node: "enrich", code: "enricher_failed", message: "enricher sync skipped: TypeError: boom" },
    ]);
  });

  it("abandons an enricher that never answers", async () => {
    const hung = enricher("hung", () => new Promise(() => {}));
    const { enrichment, warnings } = await runEnrichers(
      lead(),
      [hung, createFirmographicsEnricher(COMPANIES)],
      {
        timeoutMs: 5,
      },
    );
    expect(enrichment.values.industry).toBe("software");
    expect(warnings).toEqual([
      {
        node: "enrich",
        code: "enricher_timeout",
        message: "enricher hung skipped: EnricherTimeout: no answer within 5 ms",
      },
    ]);
  });

  it("warns unknown_company when no enricher knows the domain", async () => {
    const { warnings } = await runEnrichers(lead({ companyDomain: "initech.com" }), [
      createDerivedEnricher(),
      createFirmographicsEnricher(COMPANIES),
    ]);
    expect(warnings).toEqual([
      { node: "enrich", code: "unknown_company", message: "no enricher knows the company at initech.com" },
    ]);
  });

  it("warns unknown_company when the lead has no company domain", async () => {
    const { enrichment, warnings } = await runEnrichers(
      lead({ email: "jane@gmail.com", emailDomain: "gmail.com", companyDomain: undefined }),
      [createDerivedEnricher(), createFirmographicsEnricher(COMPANIES)],
    );
    expect(enrichment.values.freeMail).toBe(true);
    expect(warnings.map((w) => w.code)).toEqual(["unknown_company"]);
  });

  it("clamps confidences to 0..1", async () => {
    const loud = enricher("loud", async () => ({
      values: { industry: "x", employees: 1 },
      confidence: { industry: 7, employees: -1 },
    }));
    const { enrichment } = await runEnrichers(lead(), [loud]);
    expect(enrichment.provenance.industry?.confidence).toBe(1);
    expect(enrichment.provenance.employees?.confidence).toBe(0);
  });
});

describe("enrich node", () => {
  it("returns enrichment and warnings for the captured lead", async () => {
    const node = createEnrichNode({
      enrichers: [createDerivedEnricher(), createFirmographicsEnricher(COMPANIES)],
    });
    const update = await node(stateWith(lead({ title: "Head of Sales" })));
    expect(Object.keys(update).sort()).toEqual(["enrichment", "warnings"]);
    expect(update.enrichment?.values).toMatchObject({
      freeMail: false,
      disposable: false,
      seniority: "director",
      department: "sales",
      companyName: "Acme Ltd",
      employees: 1200,
    });
    expect(update.enrichment?.provenance.seniority).toEqual({ source: "derived", confidence: 0.8 });
    expect(update.enrichment?.provenance.freeMail).toEqual({ source: "derived", confidence: 1 });
    expect(update.warnings).toEqual([]);
  });

  it("refuses to run without a captured lead", async () => {
    await expect(createEnrichNode({ enrichers: [] })(stateWith(undefined))).rejects.toThrow(/before capture/);
  });
});
