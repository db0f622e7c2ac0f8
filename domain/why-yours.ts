/**
 * Why a lead is the reader's, in the words an AE uses ("your existing customer", "NA West territory",
 * "returning lead") rather than a rule id. Pure: reads the route, its facts and routing.json.
 */
import type { Conditions, RoutingConfig } from "./routing/schema.ts";
import type { NormalizedLead, Route } from "./types.ts";

/** Short words written in capitals in a rule or pool name ("na-west" → "NA West"). */
const ACRONYMS = new Set([
  "na",
  "us",
  "uk",
  "eu",
  "emea",
  "apac",
  "latam",
  "dach",
  "smb",
  "nyc",
  "anz",
  "sdr",
]);

/** "rest-of-emea" → "Rest of EMEA": a rule or pool id as a name. */
export function humanizeId(id: string): string {
  return id
    .split(/[-_.\s]+/)
    .filter(Boolean)
    .map((word, i) => {
      const lower = word.toLowerCase();
      if (ACRONYMS.has(lower)) return lower.toUpperCase();
      if (i > 0 && (lower === "of" || lower === "and" || lower === "the")) return lower;
      return lower.charAt(0).toUpperCase() + lower.slice(1);
    })
    .join(" ");
}

const GEOGRAPHY: ReadonlyArray<keyof Conditions> = ["country", "region", "state", "postalPrefix"];

function employeesText(range: { min?: number | undefined; max?: number | undefined }): string {
  const n = (v: number) => v.toLocaleString("en-US");
  if (range.min !== undefined && range.max !== undefined) return `${n(range.min)}–${n(range.max)} employees`;
  if (range.min !== undefined) return `${n(range.min)}+ employees`;
  return `under ${n((range.max ?? 0) + 1)} employees`;
}

/** The lead's own facts that made the rule match, in a few words ("CA, US", "government", "partner"). */
function matchedFacts(when: Conditions, lead: NormalizedLead | undefined, route: Route): string[] {
  const facts = route.facts;
  const parts: string[] = [];
  if (when.postalPrefix && (facts?.postalCode ?? lead?.postalCode))
    parts.push(`postal code ${facts?.postalCode ?? lead?.postalCode}`);
  if (when.state && (facts?.state ?? lead?.state)) parts.push(String(facts?.state ?? lead?.state));
  if ((when.country || when.state || when.postalPrefix) && (facts?.country ?? lead?.country))
    parts.push(String(facts?.country ?? lead?.country));
  else if (when.region && (facts?.region ?? lead?.region)) parts.push(String(facts?.region ?? lead?.region));
  if (when.industry && facts?.industry) parts.push(facts.industry);
  if (when.employees) parts.push(employeesText(when.employees));
  if (when.source && (facts?.source ?? lead?.source)) parts.push(`${facts?.source ?? lead?.source} source`);
  return parts;
}

/**
 * One line saying why the lead went to the reader, e.g. "Your existing customer: Northwind is your account in
 * the CRM", "NA West territory (CA, US)", "Returning lead: yours since 2026-10-02".
 */
export function whyYours(
  route: Route | undefined,
  routing: RoutingConfig | undefined,
  lead?: NormalizedLead,
  company?: string,
): string {
  if (!route) return "Not routed yet";
  const facts = route.facts;
  switch (route.kind) {
    case "account":
      return `Your existing customer: ${company ?? "the company"} is your account in the CRM`;
    case "contact": {
      const previous = route.previous ?? facts?.previous;
      if (facts?.existingContact || facts?.contactOwnerCrmId)
        return "Your contact: this person is already yours in the CRM";
      return previous
        ? `Returning lead: yours since their lead of ${previous.routedAt.slice(0, 10)}`
        : "Returning lead: this person came to you before";
    }
    case "fallback":
      return "No routing rule matched: you are the fallback owner";
    case "queue":
      return "Sent to a queue by routing";
    default:
      break;
  }
  const rule = routing?.rules.find((r) => r.name === route.ruleName);
  const label = humanizeId(route.ruleName);
  const when = rule?.when ?? {};
  const parts = matchedFacts(when, lead, route);
  const territory = GEOGRAPHY.some((key) => when[key] !== undefined);
  const what = territory ? `${label} territory` : label;
  const detail = parts.length > 0 ? ` (${parts.join(", ")})` : "";
  if (route.kind === "pool") {
    const pool = routing?.pools.find((p) => p.id === route.pool);
    const poolName = pool?.name ?? humanizeId(route.pool ?? route.ruleName);
    return `${what}${detail}: your turn in the ${poolName} pool`;
  }
  return `${what}${detail}`;
}
