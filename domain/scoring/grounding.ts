import type { Enrichment, EnrichmentValues, Evidence, LlmAssessment, NormalizedLead } from "../types.ts";

/** The lead's and enrichment's fields by dotted name; `undefined` marks a known field with no value. */
export type Facts = Record<string, string | number | boolean | undefined>;

export type GroundedAssessment =
  | { ok: true; adjustment: number; proposed: number; reasons: string[]; evidence: Evidence[] }
  | { ok: false; reason: string };

const LEAD_FIELDS = [
  "email",
  "emailDomain",
  "firstName",
  "lastName",
  "fullName",
  "company",
  "companyDomain",
  "title",
  "country",
  "region",
  "state",
  "postalCode",
  "phone",
  "source",
  "campaign",
  "form",
  "message",
  "hubspotContactId",
] as const satisfies ReadonlyArray<keyof NormalizedLead>;

const ENRICHMENT_FIELDS = [
  "freeMail",
  "disposable",
  "seniority",
  "department",
  "companyName",
  "industry",
  "employees",
  "revenue",
  "country",
  "techStack",
] as const satisfies ReadonlyArray<keyof EnrichmentValues>;

/** Free text the model may quote from rather than repeat whole. */
const FREE_TEXT_FIELDS = new Set(["lead.message"]);
/** Any string this long is treated as free text too (a long campaign or form name, say). */
const FREE_TEXT_MIN_LENGTH = 120;
/** Lists flattened to "a, b, c"; citing one item is enough. */
const LIST_FIELDS = new Set(["enrichment.techStack"]);
const LIST_SEPARATOR = ", ";

/**
 * Flattens a lead and its enrichment into dotted facts. Every known field is present, with
 * `undefined` when unknown, so a citation of an empty field can be told from a made-up one.
 */
export function flattenFacts(lead: NormalizedLead | undefined, enrichment: Enrichment | undefined): Facts {
  const facts: Facts = {};
  for (const key of LEAD_FIELDS) facts[`lead.${key}`] = lead?.[key];
  for (const [key, value] of Object.entries(lead?.utm ?? {})) facts[`lead.utm.${key}`] = value;
  const values = enrichment?.values;
  for (const key of ENRICHMENT_FIELDS) {
    const value = values?.[key];
    facts[`enrichment.${key}`] = Array.isArray(value)
      ? value.length > 0
        ? value.join(LIST_SEPARATOR)
        : undefined
      : value;
  }
  return facts;
}

/**
 * Checks the model's proposal against the facts it was shown. One citation that contradicts the
 * data voids the whole answer: a model that misreads one field (or was talked into it by text in
 * the lead) cannot be trusted on the others. Reasons without evidence are dropped; the adjustment
 * is clamped to ±bound and is 0 when no reason survives.
 */
export function groundAssessment(answer: LlmAssessment, facts: Facts, bound: number): GroundedAssessment {
  const proposed = answer.adjustment;
  if (typeof proposed !== "number" || !Number.isFinite(proposed))
    return { ok: false, reason: `adjustment is not a finite number: ${String(proposed)}` };

  const reasons: string[] = [];
  const evidence: Evidence[] = [];
  const seen = new Set<string>();
  for (const reason of answer.reasons) {
    const text = reason.text.trim();
    if (text === "" || reason.evidence.length === 0) continue;
    for (const item of reason.evidence) {
      const problem = checkEvidence(item, facts);
      if (problem !== undefined) return { ok: false, reason: problem };
      const key = `${item.field}\u0000${String(item.value)}`;
      if (!seen.has(key)) {
        seen.add(key);
        evidence.push({ field: item.field, value: item.value });
      }
    }
    reasons.push(text);
  }

  const limit = Math.abs(Number.isFinite(bound) ? bound : 0);
  const adjustment = reasons.length === 0 ? 0 : clamp(Math.round(proposed), -limit, limit);
  // `+ 0` turns a clamped -0 into 0 so equality checks and JSON read naturally.
  return { ok: true, adjustment: adjustment + 0, proposed, reasons, evidence };
}

/** Returns why the citation fails, or undefined when it matches the facts. */
function checkEvidence(item: Evidence, facts: Facts): string | undefined {
  const { field, value } = item;
  if (!Object.hasOwn(facts, field)) return `evidence cites ${field}, which is not a field of the lead`;
  const actual = facts[field];
  if (actual === undefined) return `evidence cites ${field}, which has no value for this lead`;
  if (matches(field, actual, value)) return undefined;
  return `evidence conflicts with the data: ${field} is ${show(actual)}, the model cited ${show(value)}`;
}

function matches(
  field: string,
  actual: string | number | boolean,
  cited: string | number | boolean,
): boolean {
  if (typeof actual === "number") return toNumber(cited) === actual;
  if (typeof actual === "boolean") return toBoolean(cited) === actual;
  const have = normalize(actual);
  const want = normalize(String(cited));
  if (want === "") return false;
  if (LIST_FIELDS.has(field))
    return have === want || actual.split(LIST_SEPARATOR).some((item) => normalize(item) === want);
  if (FREE_TEXT_FIELDS.has(field) || actual.length >= FREE_TEXT_MIN_LENGTH) return have.includes(want);
  return have === want;
}

function toNumber(value: string | number | boolean): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "boolean") return undefined;
  // "1,200" and "1 200" are how people (and models) write numbers.
  const cleaned = value.trim().replace(/[,_\s]/g, "");
  if (cleaned === "") return undefined;
  const n = Number(cleaned);
  return Number.isFinite(n) ? n : undefined;
}

function toBoolean(value: string | number | boolean): boolean | undefined {
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return undefined;
  const v = value.trim().toLowerCase();
  if (v === "true" || v === "yes") return true;
  if (v === "false" || v === "no") return false;
  return undefined;
}

function normalize(text: string): string {
  return text.trim().replace(/\s+/g, " ").toLowerCase();
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, n));
}

function show(value: string | number | boolean): string {
  if (typeof value !== "string") return String(value);
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}
