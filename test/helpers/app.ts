/** Builds the service (runtime + Fastify app) over a temporary DATA_DIR, for `app.inject` tests. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyInstance } from "fastify";
import { createLogger } from "../../app/logger.ts";
import { createRuntime, type LeadRuntime, type RuntimeOptions } from "../../app/runtime.ts";
import { type Env, parseEnv } from "../../config/env.ts";
import { type BuildAppOptions, buildApp } from "../../http/app.ts";
import { createMetrics, type LeadMetrics } from "../../http/metrics.ts";
import type { GraphDeps } from "../../nodes/deps.ts";
import type { LeadRecord, LeadStatus, LeadStore } from "../../store/lead-store.ts";

export interface TestService {
  app: FastifyInstance;
  runtime: LeadRuntime;
  env: Env;
  metrics: LeadMetrics;
  dataDir: string;
  close(): Promise<void>;
}

/** Fast queue settings so retries and polls do not slow tests down. */
export const FAST_QUEUE = { attempts: 1, backoffMs: 10, pollMs: 20 } as const;

/**
 * Load shedding for tests: off for the event loop. A two-core machine running several suites at once stalls
 * event loops for seconds, and under-pressure reads a sample window with no tick at all as an infinite delay,
 * so any bound answers ordinary test requests 503 after such a stall. Tests of load shedding pass their own.
 */
export const TEST_LOAD_SHEDDING = { maxEventLoopDelay: 0 } as const;

export async function startService(
  envOverrides: Record<string, string | undefined> = {},
  options: Partial<Omit<RuntimeOptions, "logger">> = {},
  logging: { level: string; destination: NodeJS.WritableStream } | undefined = undefined,
  host: Pick<BuildAppOptions, "timeouts" | "loadShedding"> = {},
): Promise<TestService> {
  const dataDir = mkdtempSync(join(tmpdir(), "leadgraph-test-"));
  // Not loadEnv: the developer's own environment (a REDIS_URL, tokens) must not leak into tests.
  const env = parseEnv({ DATA_DIR: dataDir, LOG_LEVEL: "silent", WORKER_CONCURRENCY: "4", ...envOverrides });
  const logger = createLogger(logging ?? { level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const metrics = createMetrics({ defaultMetrics: false });
  const runtime = await createRuntime(env, {
    logger,
    worker: true,
    metrics,
    queue: FAST_QUEUE,
    ...options,
  });
  const app = await buildApp({
    service: runtime.service,
    env,
    logger,
    metrics,
    ...host,
    loadShedding: host.loadShedding ?? TEST_LOAD_SHEDDING,
  });
  await app.ready();
  return {
    app,
    runtime,
    env,
    metrics,
    dataDir,
    async close() {
      await app.close();
      await runtime.close({ timeoutMs: 10_000 });
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A delivered lead: its owner (or queue) has it. A lead with an owner then waits for them (`awaiting`, the
 * owner loop); one without (nurture, a queue) is `completed`.
 */
export const DELIVERED: LeadStatus[] = ["completed", "awaiting"];

/** Waits (bounded) until the lead reaches one of `statuses`; the bound is a hang guard, not a timing check. */
export async function waitForStatus(
  store: LeadStore,
  leadId: string,
  statuses: LeadStatus[],
  timeoutMs = 20_000,
): Promise<LeadRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lead = await store.getLead(leadId);
    if (lead && statuses.includes(lead.status)) return lead;
    if (Date.now() > deadline)
      throw new Error(`lead ${leadId} did not reach ${statuses.join("|")}: ${lead?.status ?? "missing"}`);
    await sleep(20);
  }
}

/** A labelled sample lead's payload (fixtures/leads_sample.json). */
export function sampleLead(id: string): Record<string, unknown> {
  const cases = JSON.parse(readFileSync("fixtures/leads_sample.json", "utf8")) as Array<{
    id: string;
    payload: Record<string, unknown>;
  }>;
  const found = cases.find((c) => c.id === id);
  if (!found) throw new Error(`no sample lead ${id}`);
  return structuredClone(found.payload);
}

/** Hot, existing account, qualified path: the owner gets a message and the CRM a contact. */
export const QUALIFIED_LEAD = "L001";
/** Cold: the nurture path (no message). */
export const NURTURE_LEAD = "L003";

/** Wraps the ports with side effects to record their calls by lead (the adapters themselves still run). */
export function countEffects() {
  const calls = { messages: [] as string[], messageUpdates: [] as string[], contacts: [] as string[] };
  const override = (deps: GraphDeps): GraphDeps => ({
    ...deps,
    notifier: {
      name: deps.notifier.name,
      send: (message, previous) => {
        (previous ? calls.messageUpdates : calls.messages).push(message.leadId);
        return deps.notifier.send(message, previous);
      },
      findPosted: (message, after) => deps.notifier.findPosted(message, after),
    },
    crm: new Proxy(deps.crm, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== "function") return value;
        if (prop !== "upsertContact") return value.bind(target);
        return (contact: { leadId: string }) => {
          calls.contacts.push(contact.leadId);
          return value.call(target, contact);
        };
      },
    }),
  });
  /** How many times each effect ran for `leadId`. */
  const of = (leadId: string) => ({
    messages: calls.messages.filter((id) => id === leadId).length,
    messageUpdates: calls.messageUpdates.filter((id) => id === leadId).length,
    contacts: calls.contacts.filter((id) => id === leadId).length,
  });
  return { calls, of, override };
}
