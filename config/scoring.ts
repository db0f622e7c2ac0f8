import { z } from "zod";
import { type ConfigProblem, type Parsed, readJsonFile, zodProblems } from "./validation.ts";

const points = z.number().int().min(-100).max(100);

const band = z
  .object({ min: z.number().int().min(0).optional(), max: z.number().int().min(0).optional(), points })
  .strict();

const signal = z
  .object({
    name: z.string().min(1),
    field: z.enum(["form", "source", "message", "campaign", "title"]),
    contains: z.array(z.string().min(1)).min(1).optional(),
    equals: z.array(z.string().min(1)).min(1).optional(),
    points,
  })
  .strict();

export const scoringSchema = z
  .object({
    version: z.literal(1),
    base: points,
    tiers: z.object({ hot: z.number().min(0).max(100), warm: z.number().min(0).max(100) }).strict(),
    greyZone: z.object({ min: z.number().min(0).max(100), max: z.number().min(0).max(100) }).strict(),
    llm: z.object({ maxAdjustment: z.number().int().min(0).max(50) }).strict(),
    industries: z.record(z.string().min(1), points),
    employees: z.array(band),
    seniority: z.record(z.enum(["c-level", "vp", "director", "manager", "individual"]), points),
    regions: z.record(z.enum(["NA", "EMEA", "APAC", "LATAM"]), points),
    freeMail: points,
    disposable: points,
    signals: z.array(signal),
    nurture: z.object({ followUpDays: z.number().int().min(1).max(365) }).strict(),
  })
  .strict();

export type ScoringConfig = z.infer<typeof scoringSchema>;
export type ScoringSignal = z.infer<typeof signal>;

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
