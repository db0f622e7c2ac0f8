import { regionOf as regionTable } from "../normalize/region.ts";
import type { Enrichment, NormalizedLead, Region, RouteFacts, Score } from "../types.ts";
import { normalizeCountryCode } from "./schema.ts";

/** What routing rules look at; an absent fact is unknown and fails any condition on it. */
export type RoutingFacts = RouteFacts;

export type RegionOf = (country: string) => Region | undefined;

// Enrichers may report a name or alias ("UK"); the table is keyed by alpha-2.
const defaultRegionOf: RegionOf = (country) => regionTable(normalizeCountryCode(country));

/**
 * The routing facts of a lead. Country is the lead's own, else the company HQ's from enrichment.
 * Region follows that country: capture's `lead.region` when the lead gave the country, else
 * `regionOf(enrichment.country)` (default: the README's table in tools/normalize/region.ts).
 * `existingAccount` needs the CRM, so the caller supplies it.
 */
export function factsFromState(
  state: {
    lead?: NormalizedLead | undefined;
    enrichment?: Enrichment | undefined;
    score?: Score | undefined;
  },
  extra: { existingAccount?: boolean; regionOf?: RegionOf } = {},
): RoutingFacts {
  const { lead, enrichment, score } = state;
  const values = enrichment?.values ?? {};
  const regionOf = extra.regionOf ?? defaultRegionOf;
  const country = lead?.country ?? values.country;
  const region = lead?.country
    ? (lead.region ?? regionOf(lead.country))
    : country
      ? regionOf(country)
      : undefined;
  return {
    country,
    region,
    state: lead?.state,
    postalCode: lead?.postalCode,
    industry: values.industry,
    employees: values.employees,
    revenue: values.revenue,
    tier: score?.tier,
    source: lead?.source,
    existingAccount: extra.existingAccount,
  };
}

/** The same facts in the form conditions compare against (codes upper-case, names lower-case). */
export function normalizeFacts(facts: RoutingFacts): RoutingFacts {
  const text = (v: string | undefined) => (v === undefined || v.trim() === "" ? undefined : v.trim());
  const country = text(facts.country);
  return {
    ...facts,
    country: country === undefined ? undefined : (normalizeCountryCode(country) ?? country.toUpperCase()),
    state: text(facts.state)?.toUpperCase(),
    postalCode: text(facts.postalCode)?.replace(/\s+/g, "").toUpperCase(),
    industry: text(facts.industry)?.toLowerCase(),
    source: text(facts.source)?.toLowerCase(),
  };
}
