import { normalizeCountry } from "../../domain/normalize/country.ts";
import type { EnrichmentField, EnrichmentValues } from "../../domain/types.ts";
import type { Crm, Enricher, EnricherResult } from "../ports.ts";

/**
 * HubSpot's industry picklist values mapped to the vocabulary of config/scoring.json and
 * routing.json. Unlisted values fall back to lower-case words ("COMPUTER_GAMES" → "computer games").
 */
export const hubspotIndustryMap: Readonly<Record<string, string>> = {
  COMPUTER_SOFTWARE: "software",
  INFORMATION_TECHNOLOGY_AND_SERVICES: "software",
  INTERNET: "software",
  FINANCIAL_SERVICES: "financial services",
  BANKING: "financial services",
  INSURANCE: "financial services",
  INVESTMENT_MANAGEMENT: "financial services",
  HOSPITAL_HEALTH_CARE: "healthcare",
  MEDICAL_DEVICES: "healthcare",
  PHARMACEUTICALS: "healthcare",
  MECHANICAL_OR_INDUSTRIAL_ENGINEERING: "manufacturing",
  INDUSTRIAL_AUTOMATION: "manufacturing",
  MACHINERY: "manufacturing",
  AUTOMOTIVE: "manufacturing",
  LOGISTICS_AND_SUPPLY_CHAIN: "logistics",
  TRANSPORTATION_TRUCKING_RAILROAD: "logistics",
  TELECOMMUNICATIONS: "telecommunications",
  WIRELESS: "telecommunications",
  RETAIL: "retail",
  CONSUMER_GOODS: "retail",
  MEDIA_PRODUCTION: "media",
  BROADCAST_MEDIA: "media",
  PUBLISHING: "media",
  OIL_ENERGY: "energy",
  RENEWABLES_ENVIRONMENT: "energy",
  UTILITIES: "energy",
  MANAGEMENT_CONSULTING: "professional services",
  ACCOUNTING: "professional services",
  LEGAL_SERVICES: "professional services",
  EDUCATION_MANAGEMENT: "education",
  HIGHER_EDUCATION: "education",
  PRIMARY_SECONDARY_EDUCATION: "education",
  E_LEARNING: "education",
  GOVERNMENT_ADMINISTRATION: "government",
  GOVERNMENT_RELATIONS: "government",
  PUBLIC_POLICY: "government",
  NON_PROFIT_ORGANIZATION_MANAGEMENT: "nonprofit",
  PHILANTHROPY: "nonprofit",
};

/**
 * Below the local firmographics (0.9): a CRM company record is typed in by reps or auto-filled
 * by HubSpot, so the name is usually right but size, revenue and industry are often stale or
 * banded. The chain runs firmographics first anyway; these values fill what it did not know.
 */
export const hubspotConfidence: Readonly<Partial<Record<EnrichmentField, number>>> = {
  companyName: 0.8,
  country: 0.7,
  industry: 0.6,
  employees: 0.6,
  revenue: 0.5,
};

export function hubspotIndustry(
  value: string,
  map: Readonly<Record<string, string>> = hubspotIndustryMap,
): string {
  const key = value.trim().toUpperCase();
  return map[key] ?? key.toLowerCase().replaceAll("_", " ");
}

/** Company facts from the CRM record matching the lead's company domain. */
export class HubSpotCompanyEnricher implements Enricher {
  readonly name = "hubspot";
  readonly #crm: Pick<Crm, "findCompanyByDomain">;
  readonly #industryMap: Readonly<Record<string, string>>;

  constructor(crm: Pick<Crm, "findCompanyByDomain">, options: { industryMap?: Record<string, string> } = {}) {
    this.#crm = crm;
    this.#industryMap = options.industryMap ?? hubspotIndustryMap;
  }

  async enrich(lead: { companyDomain?: string }): Promise<EnricherResult | null> {
    // Free-mail leads have no company domain; a lookup on gmail.com would match nothing useful.
    if (!lead.companyDomain) return null;
    const company = await this.#crm.findCompanyByDomain(lead.companyDomain);
    if (!company) return null;
    const values: EnrichmentValues = {};
    if (company.name) values.companyName = company.name;
    if (company.industry) values.industry = hubspotIndustry(company.industry, this.#industryMap);
    if (company.employees !== undefined && company.employees > 0) values.employees = company.employees;
    if (company.revenue !== undefined && company.revenue > 0) values.revenue = company.revenue;
    const country = normalizeCountry(company.country);
    if (country) values.country = country;
    const fields = Object.keys(values) as EnrichmentField[];
    if (fields.length === 0) return null;
    return {
      values,
      confidence: Object.fromEntries(fields.map((f) => [f, hubspotConfidence[f] ?? 0.5])),
    };
  }
}
