import { type FSWatcher, readFileSync, watch } from "node:fs";
import { basename, dirname } from "node:path";
import { z } from "zod";
import { normalizeCountry } from "../tools/normalize/country.ts";
import type { Logger } from "../tools/ports.ts";
import { type ConfigProblem, type Parsed, readJsonFile, zodProblems } from "./validation.ts";

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

const ownerSchema = z.strictObject({
  id,
  name: z.string().min(1),
  email: z.email(),
  crmOwnerId: id.optional(),
  team: z.string().optional(),
  active: z.boolean().default(true),
  away: z.array(awayRange).optional(),
  dailyCap: z.number().int().positive().optional(),
  slackChannel: z.string().min(1).optional(),
});

const poolSchema = z.strictObject({
  id,
  name: z.string().optional(),
  description: z.string().optional(),
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
});

const toOwner = z.strictObject({ type: z.literal("owner"), owner: id });
const toPool = z.strictObject({ type: z.literal("pool"), pool: id });
const toQueue = z.strictObject({ type: z.literal("queue"), queue: id });
const assignmentSchema = z.discriminatedUnion("type", [
  toOwner,
  toPool,
  z.strictObject({ type: z.literal("account") }),
  toQueue,
]);

const ruleSchema = z.strictObject({
  name: id,
  description: z.string().optional(),
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
  // No "account" here: the fallback takes leads no rule matched, so there may be no account.
  fallback: z.discriminatedUnion("type", [toOwner, toPool, toQueue]),
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
export type RoutingParseResult = Parsed<RoutingConfig>;

type Json = Record<string, unknown>;
const asRecord = (v: unknown): Json | undefined =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/**
 * Uniqueness and references, checked on the raw JSON so that one run reports them alongside the
 * schema's own problems instead of only after those are fixed.
 */
function referenceProblems(input: unknown): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const root = asRecord(input);
  if (!root) return problems;
  const uniqueIds = (key: string, field: string, what: string): Set<string> => {
    const seen = new Map<string, number>();
    asList(root[key]).forEach((item, i) => {
      const value = asRecord(item)?.[field];
      if (typeof value !== "string") return;
      const first = seen.get(value);
      if (first === undefined) seen.set(value, i);
      else
        problems.push({
          path: `$.${key}[${i}].${field}`,
          message: `duplicate ${what} "${value}" (also $.${key}[${first}])`,
        });
    });
    return new Set(seen.keys());
  };
  const owners = uniqueIds("owners", "id", "owner id");
  const pools = uniqueIds("pools", "id", "pool id");
  const queues = uniqueIds("queues", "id", "queue id");
  uniqueIds("rules", "name", "rule name");

  const refer = (path: string, value: unknown, known: Set<string>, what: string) => {
    if (typeof value === "string" && !known.has(value))
      problems.push({ path, message: `unknown ${what} "${value}"` });
  };
  asList(root.pools).forEach((pool, p) => {
    const members = new Set<string>();
    asList(asRecord(pool)?.members).forEach((member, m) => {
      const owner = asRecord(member)?.owner;
      const path = `$.pools[${p}].members[${m}].owner`;
      refer(path, owner, owners, "owner");
      if (typeof owner !== "string") return;
      if (members.has(owner))
        problems.push({ path, message: `owner "${owner}" is listed twice in this pool` });
      members.add(owner);
    });
  });
  const checkAssignment = (base: string, assignment: unknown) => {
    const a = asRecord(assignment);
    if (!a) return;
    if (a.type === "owner") refer(`${base}.owner`, a.owner, owners, "owner");
    if (a.type === "pool") refer(`${base}.pool`, a.pool, pools, "pool");
    if (a.type === "queue") refer(`${base}.queue`, a.queue, queues, "queue");
  };
  asList(root.rules).forEach((rule, r) => {
    checkAssignment(`$.rules[${r}].assign`, asRecord(rule)?.assign);
  });
  checkAssignment("$.fallback", root.fallback);
  return problems;
}

/** Validates parsed JSON; country aliases come out normalised to alpha-2. */
export function parseRoutingConfig(json: unknown): RoutingParseResult {
  const parsed = routingConfigSchema.safeParse(json);
  const problems = [...(parsed.success ? [] : zodProblems(parsed.error)), ...referenceProblems(json)];
  if (problems.length > 0 || !parsed.success) return { ok: false, errors: problems };
  return { ok: true, config: parsed.data };
}

/** Reads and validates a routing file; a missing file or bad JSON is a problem at `$`, not a throw. */
export function loadRoutingFile(file: string): RoutingParseResult {
  const json = readJsonFile(file);
  return json.ok ? parseRoutingConfig(json.value) : json;
}

export class RoutingConfigError extends Error {
  override readonly name = "RoutingConfigError";
  readonly code = "ROUTING_CONFIG_INVALID";
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(`${file} is invalid:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join("\n")}`);
  }
}

export interface RoutingWatcher {
  /** The last valid config; the one in force. */
  current(): RoutingConfig;
  close(): void;
}

export interface WatchRoutingOptions {
  logger: Logger;
  onChange?: (config: RoutingConfig) => void;
  /** Editors write in bursts (truncate, write, rename); one reload per burst. */
  debounceMs?: number;
}

/**
 * Loads `file` (throws RoutingConfigError when the initial version is invalid) and reloads it on
 * change. An invalid edit is refused: the last good config stays and every problem is logged.
 */
export function watchRoutingFile(file: string, options: WatchRoutingOptions): RoutingWatcher {
  const { logger, onChange, debounceMs = 100 } = options;
  const first = loadRoutingFile(file);
  if (!first.ok) throw new RoutingConfigError(file, first.errors);
  let config = first.config;
  let lastText = readText(file);
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const reload = () => {
    timer = undefined;
    if (closed) return;
    const text = readText(file);
    // Saves that change nothing (touch, editor swap files) are not reloads.
    if (text !== undefined && text === lastText) return;
    lastText = text;
    const result = loadRoutingFile(file);
    if (!result.ok) {
      for (const problem of result.errors)
        logger.warn(
          { file, path: problem.path, problem: problem.message },
          "routing config edit refused; last good kept",
        );
      return;
    }
    config = result.config;
    logger.info(
      { file, rules: config.rules.length, owners: config.owners.length },
      "routing config reloaded",
    );
    onChange?.(config);
  };

  // The directory, not the file: editors that save by rename replace the inode a file watch is bound to.
  const name = basename(file);
  const watcher: FSWatcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
    if (changed !== null && changed !== name) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(reload, debounceMs);
  });
  watcher.on("error", (err) => logger.warn({ file, error: err.message }, "routing config watch failed"));

  return {
    current: () => config,
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      watcher.close();
    },
  };
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}
