import { fileURLToPath } from "node:url";
import { z } from "zod";
import { parseEventRules } from "../domain/normalize/hubspot-event.ts";

/** The project root, so default file paths work from any working directory. */
export const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === "" ? undefined : v))
  .optional();

const csv = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );

const port = z.coerce.number().int().min(0).max(65535);

export const envSchema = z.object({
  PORT: port.default(3000),
  HOST: z.string().default("0.0.0.0"),
  DATA_DIR: z.string().default(".data"),
  REDIS_URL: optionalString.pipe(z.url({ protocol: /^rediss?$/ }).optional()),
  /**
   * `true`: REDIS_URL names one node of a Redis Cluster (the others are discovered); key prefixes then carry
   * hash tags so that each script's and transaction's keys share a slot.
   */
  REDIS_CLUSTER: z
    .enum(["true", "false", "1", "0", ""])
    .default("false")
    .transform((v) => v === "true" || v === "1"),
  /** Comma-separated bearer tokens; admin routes are closed when empty. */
  ADMIN_TOKENS: csv.pipe(z.array(z.string().min(16, "each admin token needs at least 16 characters"))),
  /** Comma-separated read-only tokens (console and admin API): they see leads and reports, change nothing. */
  VIEWER_TOKENS: csv.pipe(z.array(z.string().min(16, "each viewer token needs at least 16 characters"))),
  /** Signs console session cookies; derived from the token lists when unset (sessions then end when they change). */
  SESSION_SECRET: optionalString.pipe(z.string().min(32, "needs at least 32 characters").optional()),
  /** How long a console session lasts. */
  SESSION_TTL_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 30)
    .default(12),
  /** Lead events kept for live views that reconnect (`Last-Event-ID`); at least 1000. */
  EVENTS_KEEP: z.coerce.number().int().min(1000).max(1_000_000).default(5000),
  /** Forward every lead event (batched JSON, signed) to this URL; never blocks a lead. */
  EVENTS_WEBHOOK_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
  /** HMAC-SHA256 key for `X-LeadGraph-Signature` on forwarded events. */
  EVENTS_WEBHOOK_SECRET: optionalString,
  /** USD per 1,000 LLM tokens, for the reports' cost figures. */
  LLM_PROMPT_PRICE_PER_1K: z.coerce.number().min(0).default(0.00015),
  LLM_COMPLETION_PRICE_PER_1K: z.coerce.number().min(0).default(0.0006),
  WEBHOOK_SECRET: optionalString,
  HUBSPOT_CLIENT_SECRET: optionalString,
  /** Contact property changes (HubSpot app webhook events) that make a lead: `prop=value|value,prop`. */
  HUBSPOT_EVENT_PROPERTIES: z
    .string()
    .default("lifecyclestage=marketingqualifiedlead")
    .superRefine((spec, ctx) => {
      const parsed = parseEventRules(spec);
      if ("error" in parsed) ctx.addIssue({ code: "custom", message: parsed.error });
    }),
  /** Origins (https://www.example.com) whose pages may post lead forms without a signature. */
  FORM_ORIGINS: csv.pipe(
    z.array(z.url({ protocol: /^https?$/, error: "each FORM_ORIGINS entry must be an http(s) origin" })),
  ),
  /** Thank-you page a browser's form post is redirected to (303) when the form names none in `_redirect`. */
  FORM_REDIRECT_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
  /** A hidden form field only bots fill in: a post with it filled is acknowledged and dropped. */
  FORM_HONEYPOT_FIELD: z.string().trim().min(1).default("_gotcha"),
  /** Most items one webhook delivery (a JSON array or a HubSpot event batch) may carry. */
  WEBHOOK_BATCH_MAX: z.coerce.number().int().min(1).max(1000).default(100),
  /** Requests per minute per client address on POST /webhooks/lead; 0 turns the limit off. */
  WEBHOOK_RATE_LIMIT: z.coerce.number().int().min(0).default(3000),
  /** Requests per minute per client address on the admin API; 0 turns the limit off. */
  ADMIN_RATE_LIMIT: z.coerce.number().int().min(0).default(300),
  /**
   * Which proxies' X-Forwarded-For to believe for the client address (rate limits are per client): unset or
   * `false` none, `true` any, a number of hops, or comma-separated addresses/CIDRs of the proxies.
   */
  TRUST_PROXY: optionalString.transform((v): boolean | number | string =>
    v === undefined || v === "false" ? false : v === "true" ? true : /^\d+$/.test(v) ? Number(v) : v,
  ),
  /**
   * How long SIGTERM may take before the process exits anyway (code 1); keep it inside the orchestrator's
   * grace period (Kubernetes: 30 s). Running leads get all of it but the last 3 s.
   */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1000).default(28_000),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /**
   * Leads run at once per worker process. 16: a lead spends most of its time waiting (on a commit, Redis or a
   * vendor), and more leads in flight share each commit and each event-loop turn (bench/service.ts, two
   * runs each: 73 and 78 leads/s embedded, 63 and 83 Redis, against 48-69 and 52-58 at 4). Lower it when a
   * vendor's rate limit answers 429s.
   */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
  /** List-import leads run at once per worker process, beside WORKER_CONCURRENCY live ones. */
  IMPORT_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
  /** How often each worker looks for stranded leads (queued, running or retrying without a live job). */
  RECONCILE_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  /**
   * Retention: a completed lead is deleted (record, timeline, index entries, ledger, checkpoints, job, the
   * stand-ins' per-lead rows) once it has not changed for this many days; the live event log keeps this long
   * too. Fractions allowed; 0 keeps completed leads forever. Failed leads are kept until handled: retried to
   * completion (the window then runs from completion) or deleted by an admin. Unfinished leads are never deleted.
   */
  RETENTION_COMPLETED_DAYS: z.coerce.number().min(0).max(36_500).default(90),
  /** How often each worker process runs the retention sweep (also once at start). */
  RETENTION_SWEEP_INTERVAL_MINUTES: z.coerce.number().int().min(1).max(10_080).default(60),
  /** Largest CSV body POST /admin/imports takes. */
  IMPORT_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(16 * 1024 * 1024),
  /** Public base URL of this service, for links in Slack messages. */
  PUBLIC_URL: optionalString.pipe(z.url().optional()),
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: optionalString.pipe(z.url().optional()),
  OPENAI_MODEL: z.string().default("gpt-4o-mini"),
  OPENAI_EMBEDDING_MODEL: z.string().default("text-embedding-3-small"),
  PINECONE_API_KEY: optionalString,
  PINECONE_INDEX: optionalString,
  PINECONE_HOST: optionalString,
  PINECONE_NAMESPACE: optionalString,
  HUBSPOT_ACCESS_TOKEN: optionalString,
  HUBSPOT_BASE_PATH: optionalString.pipe(z.url().optional()),
  /** The HubSpot account id ("Hub ID"), for links to a contact's record in the owner's Slack message. */
  HUBSPOT_PORTAL_ID: optionalString.pipe(z.string().regex(/^\d+$/, "must be the numeric Hub ID").optional()),
  /** HubSpot's web app origin for those links; EU-hosted accounts use https://app-eu1.hubspot.com. */
  HUBSPOT_APP_URL: z.url({ protocol: /^https$/ }).default("https://app.hubspot.com"),
  SLACK_BOT_TOKEN: optionalString,
  SLACK_API_URL: optionalString.pipe(z.url().optional()),
  SLACK_DEFAULT_CHANNEL: optionalString,
  /** The Slack app's signing secret: POST /slack/interactions (the message buttons) answers 404 without it. */
  SLACK_SIGNING_SECRET: optionalString,
  ROUTING_FILE: z.string().default(fileURLToPath(new URL("./routing.json", import.meta.url))),
  SCORING_FILE: z.string().default(fileURLToPath(new URL("./scoring.json", import.meta.url))),
  PROMPTS_DIR: z.string().default(fileURLToPath(new URL("../prompts", import.meta.url))),
  FIXTURES_DIR: z.string().default(fileURLToPath(new URL("../fixtures", import.meta.url))),
});

export type Env = z.infer<typeof envSchema>;

export class EnvError extends Error {
  override readonly name = "EnvError";
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid environment:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.problems = problems;
  }
}

/** Parses an environment; every problem is listed at once. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  const parsed = envSchema.safeParse(source);
  if (parsed.success) return parsed.data;
  throw new EnvError(parsed.error.issues.map((i) => `${i.path.join(".") || "env"}: ${i.message}`));
}

/** The one place that reads process.env. */
export function loadEnv(overrides: Record<string, string | undefined> = {}): Env {
  return parseEnv({ ...process.env, ...overrides });
}
