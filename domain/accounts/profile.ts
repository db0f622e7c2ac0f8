import type { Enrichment, NormalizedLead, PastAccount } from "../types.ts";

/**
 * The text embedded for a past account and for a lead. Both are built from the same company
 * profile lines (`key: value`), so a lead and an account with the same industry, size, place and
 * tools land close together in any embedder's space. Names, notes and free text are left out on
 * purpose: they would pull vectors towards word overlap instead of company likeness.
 */
export interface CompanyProfile {
  industry?: string;
  employees?: number;
  country?: string;
  region?: string;
  tech?: string[];
}

/** Keys of the profile lines; the hashing embedder turns each `key: value` into a structured token. */
export const PROFILE_KEYS = ["industry", "size", "segment", "country", "region", "tech"] as const;

/**
 * What makes a past account "similar" to an AE: the same industry first, then size and place. Size has
 * two lines (band and segment) already, so industry gets the weight of both.
 */
export const PROFILE_KEY_WEIGHTS: Readonly<Record<(typeof PROFILE_KEYS)[number], number>> = {
  industry: 4,
  size: 2,
  segment: 2,
  country: 2,
  region: 1,
  tech: 1,
};

const SIZE_BANDS: Array<{ max: number; band: string; segment: string }> = [
  { max: 10, band: "1-10", segment: "micro" },
  { max: 50, band: "11-50", segment: "smb" },
  { max: 200, band: "51-200", segment: "smb" },
  { max: 1000, band: "201-1000", segment: "mid-market" },
  { max: 5000, band: "1001-5000", segment: "enterprise" },
  { max: Number.POSITIVE_INFINITY, band: "5001+", segment: "enterprise" },
];

/** Employee count to a size band and a coarser segment, so neighbouring bands still share a token. */
export function sizeBand(employees: number): { band: string; segment: string } {
  const found = SIZE_BANDS[bandIndex(employees)]!;
  return { band: found.band, segment: found.segment };
}

function bandIndex(employees: number): number {
  const index = SIZE_BANDS.findIndex((b) => employees <= b.max);
  return index < 0 ? SIZE_BANDS.length - 1 : index;
}

/** Which of the size bands `profileText` would write for this count: -1 for none. */
function sizeBandIndex(employees: number | undefined): number {
  if (employees === undefined || !Number.isFinite(employees) || employees <= 0) return -1;
  return bandIndex(employees);
}

export function profileText(profile: CompanyProfile): string {
  const lines: string[] = [];
  const industry = profile.industry?.trim().toLowerCase();
  if (industry) lines.push(`industry: ${industry}`);
  if (profile.employees !== undefined && Number.isFinite(profile.employees) && profile.employees > 0) {
    const { band, segment } = sizeBand(profile.employees);
    lines.push(`size: ${band} employees`, `segment: ${segment}`);
  }
  if (profile.country) lines.push(`country: ${profile.country.trim().toUpperCase()}`);
  if (profile.region) lines.push(`region: ${profile.region.trim().toUpperCase()}`);
  const tech = (profile.tech ?? []).map((t) => t.trim().toLowerCase()).filter((t) => t !== "");
  if (tech.length > 0) lines.push(`tech: ${[...new Set(tech)].sort().join(", ")}`);
  return lines.join("\n");
}

export function accountText(account: PastAccount): string {
  return profileText({
    industry: account.industry,
    employees: account.employees,
    country: account.country,
    region: account.region,
  });
}

/**
 * `accountText` for a whole corpus: accounts with the same industry, country, region (as written) and size
 * band get one string, built once. A corpus repeats its profiles (the text leaves names out), and the embedder
 * caches vectors by text, so a repeat costs a few lookups instead of a text and its hashing.
 */
export function corpusAccountText(): (account: PastAccount) => string {
  // industry → country → region → text per size band (index + 1: none first).
  const texts = new Map<string, Map<string, Map<string, string[]>>>();
  return (account) => {
    const byCountry = entryOf<Map<string, Map<string, string[]>>>(texts, account.industry, newMap);
    const byRegion = entryOf<Map<string, string[]>>(byCountry, account.country, newMap);
    const byBand = entryOf<string[]>(byRegion, account.region, newList);
    const band = sizeBandIndex(account.employees) + 1;
    let text = byBand[band];
    if (text === undefined) {
      text = accountText(account);
      byBand[band] = text;
    }
    return text;
  };
}

const newMap = <V>(): Map<string, V> => new Map();
const newList = (): string[] => [];

function entryOf<V>(map: Map<string, V>, key: string, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

export function leadText(lead: NormalizedLead | undefined, enrichment: Enrichment | undefined): string {
  const values = enrichment?.values;
  const profile: CompanyProfile = {};
  if (values?.industry !== undefined) profile.industry = values.industry;
  if (values?.employees !== undefined) profile.employees = values.employees;
  // The lead's own country wins, as in routing; the company HQ is the fallback.
  const country = lead?.country ?? values?.country;
  if (country !== undefined) profile.country = country;
  if (lead?.region !== undefined) profile.region = lead.region;
  // No tech line: past accounts carry none, and a token only one side has only adds noise.
  return profileText(profile);
}
