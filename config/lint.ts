/**
 * `config check`'s warnings: routing.json linted (domain/routing/lint.ts) against the vocabulary RevOps can be
 * expected to use: industries from scoring.json and the firmographics file, sources seen in the labelled
 * fixtures plus the ones capture assigns by default.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { normalizePayload } from "../domain/normalize/lead.ts";
import { type LintWarning, lintRouting, type Vocabulary } from "../domain/routing/lint.ts";
import type { RoutingConfig } from "../domain/routing/schema.ts";
import type { ScoringConfig } from "../domain/scoring/schema.ts";

/** Capture's own sources: generic payloads without one are "web", HubSpot payloads "hubspot". */
const DEFAULT_SOURCES = ["web", "hubspot"];

function readJsonOr(file: string, fallback: unknown): unknown {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return fallback;
  }
}

/** Known industries and sources; a missing fixtures file only narrows the vocabulary. */
export function knownVocabulary(fixturesDir: string, scoring: ScoringConfig): Vocabulary {
  const industries = new Set(Object.keys(scoring.industries).map((i) => i.toLowerCase()));
  const companies = readJsonOr(join(fixturesDir, "companies.json"), []);
  for (const company of Array.isArray(companies) ? companies : []) {
    const industry = (company as { industry?: unknown }).industry;
    if (typeof industry === "string") industries.add(industry.toLowerCase());
  }
  const sources = new Set(DEFAULT_SOURCES);
  const cases = readJsonOr(join(fixturesDir, "leads_sample.json"), []);
  for (const item of Array.isArray(cases) ? cases : []) {
    const payload = (item as { payload?: unknown }).payload ?? item;
    const lead = normalizePayload(payload);
    if (lead.ok) sources.add(lead.lead.source);
  }
  return { industries, sources };
}

export function lintWarnings(
  routing: RoutingConfig,
  scoring: ScoringConfig,
  fixturesDir: string,
): LintWarning[] {
  return lintRouting(routing, knownVocabulary(fixturesDir, scoring));
}

export function formatWarnings(file: string, warnings: LintWarning[]): string {
  return warnings.map((w) => `${file}: warning: ${w.message} (${w.path})`).join("\n");
}
