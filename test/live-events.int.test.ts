/**
 * Live events and pause/resume across processes, in both profiles: the host runs no worker; a worker in a
 * child process runs the leads, and its events reach the host's `GET /admin/events` (SQLite table or Redis
 * stream). A client that reconnects with `Last-Event-ID` gets exactly what it missed. A pause made through
 * the host holds the other process's worker, also after that worker restarts, and a resume releases it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../app/logger.ts";
import { createRuntime, type LeadRuntime } from "../app/runtime.ts";
import { parseEnv } from "../config/env.ts";
import { buildApp } from "../http/app.ts";
import { createMetrics } from "../http/metrics.ts";
import { DELIVERED, QUALIFIED_LEAD, sampleLead, TEST_LOAD_SHEDDING, waitForStatus } from "./helpers/app.ts";
import { startRedis, type TestRedis } from "./helpers/redis-server.ts";
import { connectSse, type SseEvent } from "./helpers/sse.ts";
import { startWorkerProcess, type WorkerProcess } from "./helpers/worker-process.ts";

const TOKEN = "admin-token-live-0123456789";
const auth = { authorization: `Bearer ${TOKEN}` };
const QUALIFIED_TYPES = [
  "lead.received",
  "run.started",
  ...["capture", "enrich", "scoreLead"].flatMap((n) => [`node.started:${n}`, `node.finished:${n}`]),
  "node.started:routeLead",
  "node.finished:routeLead",
  "lead.routed",
  "node.started:summarize",
  "node.finished:summarize",
  "node.started:notifyOwner",
  "node.finished:notifyOwner",
  "lead.notified",
  "node.started:syncCrm",
  "node.finished:syncCrm",
  // Delivered: the lead waits for its owner in awaitOwner's interrupt.
  "node.started:awaitOwner",
  "lead.awaiting",
];

/** An event as `type` or `type:node`, for comparing sequences. */
function label(event: SseEvent): string {
  const { type, node } = event.data as { type: string; node?: string };
  return node ? `${type}:${node}` : type;
}

function ofLead(events: SseEvent[], leadId: string): string[] {
  return events.filter((e) => e.data.leadId === leadId).map(label);
}

/**
 * A lead's events in log order. The host writes `lead.received` and the worker process writes the rest;
 * each process batches for up to 25 ms, so on a busy machine the worker's first events can reach the log
 * before the host's `lead.received`: it is checked for presence, the worker's own events for their order.
 */
function expectLeadEvents(events: SseEvent[], leadId: string): void {
  const labels = ofLead(events, leadId);
  expect(labels.filter((l) => l === "lead.received")).toHaveLength(1);
  expect(labels.filter((l) => l !== "lead.received")).toEqual(QUALIFIED_TYPES.slice(1));
}

const PROFILES: Array<{ name: string; redis: boolean }> = [
  { name: "embedded", redis: false },
  { name: "redis", redis: true },
];

describe.each(PROFILES)("live events and pause across processes: $name profile", ({ redis }) => {
  let server: TestRedis | undefined;
  let dataDir: string;
  let runtime: LeadRuntime;
  let app: FastifyInstance;
  let base: string;
  let workerEnv: Record<string, string>;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    if (redis) server = await startRedis();
    dataDir = mkdtempSync(join(tmpdir(), "leadgraph-live-"));
    const vars = {
      DATA_DIR: dataDir,
      ADMIN_TOKENS: TOKEN,
      LOG_LEVEL: "silent",
      ...(server ? { REDIS_URL: server.url } : {}),
    };
    workerEnv = { DATA_DIR: dataDir, ...(server ? { REDIS_URL: server.url } : {}) };
    const env = parseEnv(vars);
    const logger = createLogger({ level: "silent" });
    const metrics = createMetrics({ defaultMetrics: false });
    runtime = await createRuntime(env, { logger, worker: false, metrics });
    app = await buildApp({
      service: runtime.service,
      env,
      logger,
      metrics,
      loadShedding: TEST_LOAD_SHEDDING,
    });
    base = await app.listen({ host: "127.0.0.1", port: 0 });
  });

  afterAll(async () => {
    for (const worker of workers) await worker.stop();
    await app?.close();
    await runtime?.close({ timeoutMs: 5000 });
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function startWorker(): Promise<WorkerProcess> {
    const worker = startWorkerProcess(workerEnv);
    workers.push(worker);
    await worker.ready;
    return worker;
  }

  async function ingest(payload: Record<string, unknown>): Promise<string> {
    const res = await fetch(`${base}/webhooks/lead`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload),
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { leadId: string }).leadId;
  }

  it("streams a child worker's events; a reconnect resumes after Last-Event-ID without gaps", async () => {
    const worker = await startWorker();
    const first = await connectSse(`${base}/admin/events`, auth);
    expect(first.status).toBe(200);
    const lead1 = await ingest({ ...sampleLead(QUALIFIED_LEAD), email: `live1-${redis}@bramblewick.com` });
    await first.waitFor((events) => ofLead(events, lead1).includes("lead.awaiting"), "lead 1 delivered");
    expectLeadEvents(first.events, lead1);
    expect(first.events.find((e) => e.data.type === "lead.received")?.data).toMatchObject({
      leadId: lead1,
      company: expect.any(String),
    });
    const lastSeen = first.events.at(-1)?.id;
    expect(lastSeen).toBeDefined();
    first.close();

    // Missed while disconnected: a whole lead.
    const lead2 = await ingest({ ...sampleLead(QUALIFIED_LEAD), email: `live2-${redis}@bramblewick.com` });
    await waitForStatus(runtime.store, lead2, DELIVERED);
    const resumed = await connectSse(`${base}/admin/events`, { ...auth, "last-event-id": String(lastSeen) });
    await resumed.waitFor((events) => ofLead(events, lead2).includes("lead.awaiting"), "lead 2 replayed");
    expect(resumed.events.some((e) => e.event === "gap")).toBe(false);
    expect(ofLead(resumed.events, lead1)).toEqual([]);
    expectLeadEvents(resumed.events, lead2);
    const ids = [...first.events, ...resumed.events].map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    resumed.close();

    const forged = await fetch(`${base}/admin/events`, {
      headers: { ...auth, "last-event-id": "not-an-id" },
    });
    expect(forged.status).toBe(400);
    expect(await forged.json()).toMatchObject({ error: "invalid_event_id", field: "last-event-id" });
    await worker.stop();
  }, 120_000);

  it("a pause holds every worker, survives a worker restart, and resume releases the held leads", async () => {
    const worker = await startWorker();
    const live = await connectSse(`${base}/admin/events`, auth);
    const paused = await fetch(`${base}/admin/processing/pause`, { method: "POST", headers: auth });
    expect(paused.status).toBe(200);
    expect(await paused.json()).toMatchObject({ paused: true, since: expect.any(String) });
    await live.waitFor((events) => events.some((e) => e.data.type === "processing.paused"), "paused event");

    // Intake goes on: the lead is stored and queued, and no worker takes it.
    const held = await ingest({ ...sampleLead(QUALIFIED_LEAD), email: `held-${redis}@bramblewick.com` });
    await live.waitFor((events) => ofLead(events, held).includes("lead.received"), "held lead received");
    await sleep(600);
    expect((await runtime.store.getLead(held))?.status).toBe("queued");

    // A restarted worker reads the pause from the shared store, not from memory.
    await worker.stop();
    await startWorker();
    await sleep(600);
    expect((await runtime.store.getLead(held))?.status).toBe("queued");
    const state = await fetch(`${base}/admin/processing`, { headers: auth });
    expect(await state.json()).toMatchObject({ paused: true, queued: 1 });
    expect(ofLead(live.events, held)).toEqual(["lead.received"]);

    const resumed = await fetch(`${base}/admin/processing/resume`, { method: "POST", headers: auth });
    expect(await resumed.json()).toMatchObject({ paused: false });
    await live.waitFor((events) => ofLead(events, held).includes("lead.awaiting"), "held lead delivered");
    await live.waitFor((events) => events.some((e) => e.data.type === "processing.resumed"), "resumed event");
    expect((await runtime.store.getLead(held))?.status).toBe("awaiting");
    live.close();
  }, 120_000);
});
