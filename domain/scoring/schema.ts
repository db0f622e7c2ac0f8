/** The shape of scoring.json as a zod schema, and the types the scoring rules read. */
import { z } from "zod";

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
