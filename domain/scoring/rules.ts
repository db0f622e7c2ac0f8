import { regionOf } from "../normalize/region.ts";
import type { Enrichment, NormalizedLead, ScoreReason, Tier } from "../types.ts";
import type { ScoringConfig, ScoringSignal } from "./schema.ts";

export interface RuleScore {
  ruleScore: number;
  tier: Tier;
  greyZone: boolean;
  reasons: ScoreReason[];
}

export function clampScore(value: number): number {
  return Math.max(0, Math.min(100, Math.round(value)));
}

export function tierOf(score: number, config: Pick<ScoringConfig, "tiers">): Tier {
  if (score >= config.tiers.hot) return "hot";
  if (score >= config.tiers.warm) return "warm";
  return "cold";
}

export function inGreyZone(score: number, config: Pick<ScoringConfig, "greyZone">): boolean {
  return score >= config.greyZone.min && score <= config.greyZone.max;
}

function signs(points: number): string {
  return points >= 0 ? `+${points}` : String(points);
}

function signalMatch(signal: ScoringSignal, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  const hit =
    signal.contains?.find((w) => v.includes(w.toLowerCase())) ??
    signal.equals?.find((w) => v === w.toLowerCase());
  return hit;
}

/** The rule score of README's scoring section: base plus each rule at most once, clamped to 0-100. */
export function scoreByRules(lead: NormalizedLead, enrichment: Enrichment, config: ScoringConfig): RuleScore {
  const e = enrichment.values;
  const reasons: ScoreReason[] = [];
  const add = (field: string, value: string | number | boolean, points: number, what: string) => {
    if (points !== 0) reasons.push({ field, value, points, text: `${what} (${signs(points)})` });
  };

  if (e.industry !== undefined) {
    const points = config.industries[e.industry.toLowerCase()];
    if (points !== undefined) add("enrichment.industry", e.industry, points, `industry ${e.industry}`);
  }
  if (e.employees !== undefined) {
    const employees = e.employees;
    const band = config.employees.find(
      (b) => (b.min === undefined || employees >= b.min) && (b.max === undefined || employees <= b.max),
    );
    if (band) add("enrichment.employees", employees, band.points, `${employees} employees`);
  }
  if (e.seniority !== undefined) {
    const points = config.seniority[e.seniority];
    if (points !== undefined) add("enrichment.seniority", e.seniority, points, `seniority ${e.seniority}`);
  }
  // README: the lead's own country first, else the company's HQ country.
  const region = lead.country !== undefined ? lead.region : regionOf(e.country);
  if (region !== undefined) {
    const field = lead.country !== undefined ? "lead.region" : "enrichment.country";
    const points = config.regions[region];
    if (points !== undefined)
      add(field, field === "lead.region" ? region : (e.country as string), points, `region ${region}`);
  }
  if (e.freeMail) add("enrichment.freeMail", true, config.freeMail, "free-mail address");
  if (e.disposable) add("enrichment.disposable", true, config.disposable, "disposable address");
  for (const signal of config.signals) {
    const value = lead[signal.field];
    const hit = signalMatch(signal, value);
    if (hit !== undefined)
      add(`lead.${signal.field}`, value as string, signal.points, `${signal.name}: "${hit}"`);
  }

  const ruleScore = clampScore(config.base + reasons.reduce((sum, r) => sum + r.points, 0));
  return { ruleScore, tier: tierOf(ruleScore, config), greyZone: inGreyZone(ruleScore, config), reasons };
}
