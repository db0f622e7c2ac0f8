import { readFileSync } from "node:fs";
import { z } from "zod";
import { normalizeCountry } from "../../domain/normalize/country.ts";
import { registrableDomain } from "../../domain/normalize/domain.ts";
import type { EnrichmentValues } from "../../domain/types.ts";
import type { Enricher, EnricherResult } from "../ports.ts";

const CompanyRecordSchema = z.object({
  domain: z.string().min(1),
  name: z.string().min(1),
  industry: z.string().min(1).nullish(),
  employees: z.number().int().nonnegative().nullish(),
  /** Annual revenue in USD. */
  revenue: z.number().nonnegative().nullish(),
  /** Alpha-2 code or any name normalizeCountry understands. */
  country: z.string().min(1).nullish(),
  techStack: z.array(z.string()).nullish(),
});

export type CompanyRecord = z.infer<typeof CompanyRecordSchema>;

/**
 * Reads an offline firmographics file (e.g. fixtures/companies.json); throws naming the bad record.
 * Synchronous like the other startup loaders: it runs once, before the service takes traffic.
 */
export function loadCompanies(path: string): CompanyRecord[] {
  const text = readFileSync(path, "utf8");
  const parsed = z.array(CompanyRecordSchema).safeParse(JSON.parse(text));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? `[${issue.path.join("].[")}]: ${issue.message}` : "invalid";
    throw new Error(`${path}: not a list of company records at ${where}`);
  }
  return parsed.data;
}

function toValues(record: CompanyRecord): EnrichmentValues {
  const values: EnrichmentValues = { companyName: record.name };
  if (record.industry != null) values.industry = record.industry.toLowerCase();
  if (record.employees != null) values.employees = record.employees;
  if (record.revenue != null) values.revenue = record.revenue;
  const country = normalizeCountry(record.country ?? undefined);
  if (country) values.country = country;
  if (record.techStack != null) values.techStack = [...record.techStack];
  return values;
}

/**
 * Local firmographics keyed by registrable domain, so a record for `acme.co.uk` answers a lead
 * whose website is `shop.acme.co.uk`. Knows nothing (null) about other domains.
 */
export function createFirmographicsEnricher(records: CompanyRecord[], confidence = 0.9): Enricher {
  const byDomain = new Map<string, EnrichmentValues>();
  for (const record of records) {
    const domain = registrableDomain(record.domain);
    // First record wins, matching the chain's "earlier source wins" rule.
    if (domain && !byDomain.has(domain)) byDomain.set(domain, toValues(record));
  }
  return {
    name: "firmographics",
    async enrich(lead): Promise<EnricherResult | null> {
      const values = lead.companyDomain ? byDomain.get(lead.companyDomain) : undefined;
      if (!values) return null;
      const fields = Object.keys(values) as Array<keyof EnrichmentValues>;
      return {
        values: { ...values, ...(values.techStack ? { techStack: [...values.techStack] } : {}) },
        confidence: Object.fromEntries(fields.map((f) => [f, confidence])),
      };
    },
  };
}
