/**
 * The shape of routing.json as a zod schema, and the types the routing engine reads. Pure: config/routing.ts
 * reads the file, adds the reference checks and reports problems with JSON paths.
 */
import { z } from "zod";
import { normalizeCountry } from "../normalize/country.ts";
import { timeZoneSchema, weeklyHoursSchema } from "./hours-schema.ts";
import { slaSchema } from "./sla-schema.ts";

/** The same country normalisation capture uses, so a rule and a lead never disagree on "Deutschland". */
export const normalizeCountryCode = (input: string): string | undefined => normalizeCountry(input);

const id = z.string().trim().min(1);
const list = <T extends z.ZodType>(item: T) => z.array(item).min(1, "must list at least one value");

const countryCode = z.string().transform((value, ctx) => {
  const code = normalizeCountryCode(value);
  if (code) return code;
  ctx.addIssue({ code: "custom", message: `"${value}" is not an ISO 3166 country code or known alias` });
  return z.NEVER;
});

const range = z
  .strictObject({ min: z.number().nonnegative().optional(), max: z.number().nonnegative().optional() })
  .superRefine((r, ctx) => {
    if (r.min === undefined && r.max === undefined)
      ctx.addIssue({ code: "custom", message: "needs min, max or both" });
    if (r.min !== undefined && r.max !== undefined && r.min > r.max)
      ctx.addIssue({ code: "custom", message: `min ${r.min} is greater than max ${r.max}` });
  });

const awayRange = z
  .strictObject({
    from: z.iso.date({ error: "must be a date written YYYY-MM-DD" }),
    to: z.iso.date({ error: "must be a date written YYYY-MM-DD" }),
  })
  .superRefine((r, ctx) => {
    // ISO dates compare correctly as strings.
    if (r.from > r.to) ctx.addIssue({ code: "custom", message: `from ${r.from} is after to ${r.to}` });
  });

const ownerSchema = z
  .strictObject({
    id,
    name: z.string().min(1),
    email: z.email(),
    crmOwnerId: id.optional(),
    team: z.string().optional(),
    active: z.boolean().default(true),
    /** Local dates in the owner's `timezone` (UTC without one). */
    away: z.array(awayRange).optional(),
    /** Counted on the owner's local day. */
    dailyCap: z.number().int().positive().optional(),
    slackChannel: z.string().min(1).optional(),
    timezone: timeZoneSchema.optional(),
    hours: weeklyHoursSchema.optional(),
  })
  .superRefine((owner, ctx) => {
    if (owner.hours && !owner.timezone)
      ctx.addIssue({
        code: "custom",
        message: "hours are local times: add a timezone (an IANA name such as Europe/Berlin)",
        path: ["hours"],
      });
  });

const poolSchema = z.strictObject({
  id,
  name: z.string().optional(),
  description: z.string().optional(),
  /** Acceptance SLA of leads assigned through this pool (domain/routing/sla.ts). */
  sla: slaSchema.optional(),
  members: list(
    z.strictObject({
      owner: id,
      // Whole numbers: the smooth round-robin order has one slot per unit of weight.
      weight: z.number().int("must be a whole number").positive("must be greater than 0"),
    }),
  ),
});

const queueSchema = z.strictObject({
  id,
  name: z.string().min(1),
  path: z.enum(["nurture", "review"]),
  channel: z.string().min(1).optional(),
  description: z.string().optional(),
  /** How long reviewers have to decide a lead waiting in this (review) queue (domain/routing/sla.ts). */
  sla: slaSchema.optional(),
});

// Strict: a misspelt condition key would otherwise be dropped and the rule would match more leads.
const conditionsSchema = z.strictObject({
  country: list(countryCode).optional(),
  region: list(z.enum(["NA", "EMEA", "APAC", "LATAM"])).optional(),
  state: list(z.string().trim().min(1).toUpperCase()).optional(),
  postalPrefix: list(
    z
      .string()
      .transform((s) => s.replace(/\s+/g, "").toUpperCase())
      .pipe(z.string().min(1, "must not be empty")),
  ).optional(),
  industry: list(z.string().trim().min(1).toLowerCase()).optional(),
  employees: range.optional(),
  revenue: range.optional(),
  tier: list(z.enum(["hot", "warm", "cold"])).optional(),
  source: list(z.string().trim().min(1).toLowerCase()).optional(),
  existingAccount: z.boolean().optional(),
  /** The lead's email is a CRM contact with an owner. */
  existingContact: z.boolean().optional(),
  /** The same person was routed to an owner within `returning.windowDays`. */
  returning: z.boolean().optional(),
});

const toOwner = z.strictObject({ type: z.literal("owner"), owner: id });
const toPool = z.strictObject({ type: z.literal("pool"), pool: id });
const toQueue = z.strictObject({ type: z.literal("queue"), queue: id });
const assignmentSchema = z.discriminatedUnion("type", [
  toOwner,
  toPool,
  z.strictObject({ type: z.literal("account") }),
  // The owner the person already has: their CRM contact's owner, else whom they were routed to last.
  z.strictObject({ type: z.literal("contact") }),
  toQueue,
]);

const ruleSchema = z.strictObject({
  name: id,
  description: z.string().optional(),
  /** Acceptance SLA of leads assigned through this rule (domain/routing/sla.ts). */
  sla: slaSchema.optional(),
  when: conditionsSchema.default({}),
  assign: assignmentSchema,
});

export const routingConfigSchema = z.strictObject({
  $schema: z.string().optional(),
  version: z.literal(1).optional(),
  owners: z.array(ownerSchema),
  pools: z.array(poolSchema).default([]),
  queues: z.array(queueSchema).default([]),
  rules: z.array(ruleSchema),
  // No "account" or "contact" here: the fallback takes leads no rule matched, so there may be neither.
  fallback: z.discriminatedUnion("type", [toOwner, toPool, toQueue]),
  /** How long a person's earlier route makes their next lead a returning one (sticky ownership). */
  returning: z
    .strictObject({ windowDays: z.number().int("must be a whole number of days").min(1).max(3650) })
    .default({ windowDays: 90 }),
});

export type RoutingConfig = z.output<typeof routingConfigSchema>;
export type Owner = z.output<typeof ownerSchema>;
export type Pool = z.output<typeof poolSchema>;
export type PoolMember = Pool["members"][number];
export type Queue = z.output<typeof queueSchema>;
export type RoutingRule = z.output<typeof ruleSchema>;
export type Conditions = z.output<typeof conditionsSchema>;
export type Assignment = z.output<typeof assignmentSchema>;
export type FallbackAssignment = RoutingConfig["fallback"];
export type Range = z.output<typeof range>;
