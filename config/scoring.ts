import { type ScoringConfig, scoringSchema } from "../domain/scoring/schema.ts";
import { type ConfigProblem, type Parsed, readJsonFile, zodProblems } from "./validation.ts";

export type { ScoringConfig } from "../domain/scoring/schema.ts";

/** Checks the schema cannot express: ordered tiers, sane ranges, unique signal names. */
function semanticProblems(config: ScoringConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (config.tiers.warm > config.tiers.hot)
    problems.push({
      path: "$.tiers.warm",
      message: `warm (${config.tiers.warm}) is above hot (${config.tiers.hot})`,
    });
  if (config.greyZone.min > config.greyZone.max)
    problems.push({ path: "$.greyZone.min", message: "min is above max" });
  config.employees.forEach((b, i) => {
    if (b.min === undefined && b.max === undefined)
      problems.push({ path: `$.employees[${i}]`, message: "a band needs min, max or both" });
    if (b.min !== undefined && b.max !== undefined && b.min > b.max)
      problems.push({ path: `$.employees[${i}].min`, message: "min is above max" });
  });
  const names = new Set<string>();
  config.signals.forEach((s, i) => {
    if (!s.contains && !s.equals)
      problems.push({ path: `$.signals[${i}]`, message: "a signal needs contains or equals" });
    if (names.has(s.name))
      problems.push({ path: `$.signals[${i}].name`, message: `duplicate signal "${s.name}"` });
    names.add(s.name);
  });
  return problems;
}

export function parseScoringConfig(json: unknown): Parsed<ScoringConfig> {
  const parsed = scoringSchema.safeParse(json);
  if (!parsed.success) return { ok: false, errors: zodProblems(parsed.error) };
  const problems = semanticProblems(parsed.data);
  return problems.length > 0 ? { ok: false, errors: problems } : { ok: true, config: parsed.data };
}

export function loadScoringFile(path: string): Parsed<ScoringConfig> {
  const json = readJsonFile(path);
  return json.ok ? parseScoringConfig(json.value) : json;
}
