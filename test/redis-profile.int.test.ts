/**
 * The Redis profile end to end on a private redis-server: Redis lead store, RedisSaver and BullMQ. Intake
 * and workers in one process, then intake only (`--no-worker`) with `leadgraph worker` as a child process.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { Worker } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GraphDeps } from "../nodes/deps.ts";
import type { BullmqQueue } from "../store/queue/bullmq-queue.ts";
import {
  countEffects,
  DELIVERED,
  NURTURE_LEAD,
  QUALIFIED_LEAD,
  sampleLead,
  startService,
  type TestService,
  waitForStatus,
} from "./helpers/app.ts";
import { crmContactsFor, outboxMessagesFor } from "./helpers/outbox.ts";
import { startRedis, type TestRedis } from "./helpers/redis-server.ts";

const TOKEN = "admin-token-0123456789abcdef";
const auth = { authorization: `Bearer ${TOKEN}` };

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

describe("Redis profile, host and worker in one process", () => {
  let service: TestService;
  const effects = countEffects();
  const notifier = { failing: false };
  const enqueued: string[] = [];
  const nodeCalls = new Map<string, string[]>();

  beforeAll(async () => {
    service = await startService(
      { REDIS_URL: `${redis.url}/1`, ADMIN_TOKENS: TOKEN },
      {
        hooks: {
          onNodeStart(leadId, node) {
            nodeCalls.set(leadId, [...(nodeCalls.get(leadId) ?? []), node]);
          },
        },
        overrideDeps: (deps: GraphDeps) => {
          const counted = effects.override(deps);
          return {
            ...counted,
            notifier: {
              name: counted.notifier.name,
              findPosted: (message, after) => counted.notifier.findPosted(message, after),
              async send(message, previous) {
                if (notifier.failing) throw new Error("slack: ratelimited");
                return counted.notifier.send(message, previous);
              },
            },
          };
        },
      },
    );
    const { queue } = service.runtime;
    const enqueue = queue.enqueue.bind(queue);
    queue.enqueue = async (leadId) => {
      enqueued.push(leadId);
      return enqueue(leadId);
    };
  });
  afterAll(async () => {
    await service?.close();
  });

  function post(body: unknown, headers: Record<string, string> = {}) {
    return service.app.inject({ method: "POST", url: "/webhooks/lead", headers, payload: body as object });
  }

  it("runs on the Redis adapters", async () => {
    expect(service.runtime.profile).toBe("redis");
    expect(service.runtime.store.name).toBe("redis");
    expect(service.runtime.queue.name).toBe("bullmq");
    expect(service.runtime.checkpointer.constructor.name).toBe("RedisSaver");
    expect((await service.app.inject("/ready")).json()).toMatchObject({ status: "ready", store: "redis" });
  });

  it("webhook → 202 → completed, with one owner message and one CRM contact", async () => {
    const res = await post(sampleLead(QUALIFIED_LEAD));
    expect(res.statusCode).toBe(202);
    const { leadId } = res.json<{ leadId: string }>();
    const lead = await waitForStatus(service.runtime.store, leadId, [...DELIVERED, "failed"]);
    expect(lead.status).toBeOneOf(DELIVERED);
    expect(lead.result).toMatchObject({ owner: "noah.williams", path: "qualified" });
    expect(effects.of(leadId)).toEqual({ messages: 1, messageUpdates: 0, contacts: 1 });
    expect(outboxMessagesFor(service.dataDir, leadId)).toBe(1);
    expect(crmContactsFor(service.dataDir, leadId)).toBe(1);

    const again = await post(sampleLead(QUALIFIED_LEAD));
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ leadId, status: "awaiting", duplicate: true });
  });

  it("nurture path", async () => {
    const res = await post(sampleLead(NURTURE_LEAD));
    const lead = await waitForStatus(service.runtime.store, res.json().leadId, [...DELIVERED, "failed"]);
    expect(lead.result).toMatchObject({ path: "nurture" });
  });

  it("50 concurrent deliveries → one lead, one job, one message", async () => {
    enqueued.length = 0;
    const payload = { ...sampleLead(QUALIFIED_LEAD), email: "burst.redis@bramblewick.com" };
    const before = (await service.runtime.store.listLeads({ limit: 500 })).leads.length;
    const responses = await Promise.all(Array.from({ length: 50 }, () => post(payload)));
    expect(responses.filter((r) => r.statusCode === 202)).toHaveLength(1);
    expect(responses.filter((r) => r.statusCode === 200)).toHaveLength(49);
    const leadId = responses.find((r) => r.statusCode === 202)!.json<{ leadId: string }>().leadId;
    expect(new Set(responses.map((r) => r.json().leadId))).toEqual(new Set([leadId]));

    const lead = await waitForStatus(service.runtime.store, leadId, [...DELIVERED, "failed"]);
    expect(lead.status).toBeOneOf(DELIVERED);
    expect((await service.runtime.store.listLeads({ limit: 500 })).leads.length - before).toBe(1);
    expect(new Set(enqueued)).toEqual(new Set([leadId]));
    expect(lead.attempts).toBe(1);
    expect(nodeCalls.get(leadId)?.filter((n) => n === "capture")).toHaveLength(1);
    expect(effects.of(leadId)).toEqual({ messages: 1, messageUpdates: 0, contacts: 1 });
    expect(outboxMessagesFor(service.dataDir, leadId)).toBe(1);
  });

  it("notifyOwner failing through every BullMQ attempt → failed; admin retry resumes there → completed", async () => {
    notifier.failing = true;
    const res = await post({ ...sampleLead(QUALIFIED_LEAD), email: "ratelimited@bramblewick.com" });
    const { leadId } = res.json<{ leadId: string }>();
    const bull = (service.runtime.queue as BullmqQueue).bullQueue;
    // attempts: 1 in tests, so the job fails for good on the first failure and is kept.
    const deadline = Date.now() + 30_000;
    while ((await bull.getJobState(leadId)) !== "failed" && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(await bull.getJobState(leadId)).toBe("failed");
    const failed = await waitForStatus(service.runtime.store, leadId, ["failed"]);
    expect(failed.lastError).toMatchObject({
      node: "notifyOwner",
      message: expect.stringContaining("ratelimited"),
    });

    notifier.failing = false;
    const retry = await service.app.inject({
      method: "POST",
      url: `/admin/leads/${leadId}/retry`,
      headers: auth,
    });
    expect(retry.statusCode).toBe(202);
    const done = await waitForStatus(service.runtime.store, leadId, [...DELIVERED, "failed"]);
    expect(done.status).toBeOneOf(DELIVERED);
    expect(nodeCalls.get(leadId)).toEqual([
      "capture",
      "enrich",
      "scoreLead",
      "routeLead",
      "summarize",
      "notifyOwner",
      "notifyOwner",
      "syncCrm",
      "awaitOwner",
    ]);
    expect(effects.of(leadId).messages).toBe(1);
    expect(outboxMessagesFor(service.dataDir, leadId)).toBe(1);
  });

  it("prunes a completed lead's checkpoints to the last one, compacted, with the final state", async () => {
    const res = await post({ ...sampleLead(QUALIFIED_LEAD), email: "pruned@bramblewick.com" });
    const { leadId } = res.json<{ leadId: string }>();
    await waitForStatus(service.runtime.store, leadId, DELIVERED);
    // A waiting lead keeps its checkpoints (its interrupt is in them); its owner's acceptance completes it.
    expect(await service.runtime.service.act(leadId, { action: "accept", by: "noah", via: "admin" })).toEqual(
      {
        ok: true,
        queued: true,
      },
    );
    await waitForStatus(service.runtime.store, leadId, ["completed"]);
    const admin = new Redis(`${redis.url}/1`);
    try {
      // The runner prunes right after marking the lead completed.
      const fields = async () => (await admin.hkeys(`lg:cp:{${leadId}}:cp`)).map((field) => field[0]).sort();
      for (let tries = 0; tries < 100 && (await fields()).join() !== "b,c"; tries++) await sleep(20);
      // One bundle of the checkpoint and its values, deflated with the JSON dictionary (first byte 3); the
      // checkpoint's own field a one-byte stub (2); no pending writes left.
      expect(await fields()).toEqual(["b", "c"]);
      const stored = await admin.hgetallBuffer(`lg:cp:{${leadId}}:cp`);
      expect(Object.entries(stored).map(([field, value]) => [field[0], value[0], value.length > 1])).toEqual(
        expect.arrayContaining([
          ["b", 3, true],
          ["c", 2, false],
        ]),
      );
    } finally {
      admin.disconnect();
    }
    const checkpoints = [];
    for await (const tuple of service.runtime.checkpointer.list({ configurable: { thread_id: leadId } }))
      checkpoints.push(tuple);
    expect(checkpoints).toHaveLength(1);
    const lead = await service.runtime.store.getLead(leadId);
    expect(checkpoints[0]?.checkpoint.channel_values).toMatchObject({
      leadId,
      path: "qualified",
      route: { ownerId: lead?.result?.ownerId },
    });
  });
});

describe("Redis profile, intake only with `leadgraph worker` processes", () => {
  let service: TestService;
  let worker: ChildProcess | undefined;
  const url = () => `${redis.url}/2`;

  beforeAll(async () => {
    service = await startService({ REDIS_URL: url() }, { worker: false });
  });
  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((resolve) => worker?.once("exit", resolve));
      worker.kill("SIGTERM");
      await exited;
    }
    await service?.close();
  });

  it("the host only ingests; a separate worker process completes the lead", async () => {
    const res = await service.app.inject({
      method: "POST",
      url: "/webhooks/lead",
      payload: sampleLead(QUALIFIED_LEAD),
    });
    expect(res.statusCode).toBe(202);
    const { leadId } = res.json<{ leadId: string }>();
    expect(await service.runtime.queue.depth()).toBe(1);
    expect((await service.runtime.store.getLead(leadId))?.status).toBe("queued");

    worker = spawn(process.execPath, ["bin/leadgraph.js", "worker"], {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        REDIS_URL: url(),
        DATA_DIR: service.dataDir,
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "ignore", "inherit"],
    });
    const lead = await waitForStatus(service.runtime.store, leadId, [...DELIVERED, "failed"], 45_000);
    expect(lead.status).toBeOneOf(DELIVERED);
    expect(outboxMessagesFor(service.dataDir, leadId)).toBe(1);
    expect(crmContactsFor(service.dataDir, leadId)).toBe(1);

    const exited = new Promise<number | null>((resolve) => worker?.once("exit", (code) => resolve(code)));
    worker.kill("SIGTERM");
    expect(await exited).toBe(0);
  }, 90_000);
});

describe("Redis profile, a job BullMQ fails for stalling", () => {
  let service: TestService;
  const url = () => `${redis.url}/3`;

  beforeAll(async () => {
    service = await startService({ REDIS_URL: url() }, { worker: false });
  });
  afterAll(async () => {
    await service?.close();
  });

  it("is failed by BullMQ without the runner hearing of it; the reconciler fails the lead with its reason", async () => {
    const accepted = await service.runtime.service.accept({
      body: { ...sampleLead(QUALIFIED_LEAD), email: "stalled@bramblewick.com" },
    });
    if (!accepted.ok) throw new Error(accepted.message);
    const { leadId } = accepted;
    const bull = (service.runtime.queue as unknown as BullmqQueue).bullQueue;
    // A worker that starts the lead and then goes silent (a process frozen or killed): it never renews its
    // lock. Past maxStalledCount (0 here) BullMQ marks the job to fail, and the next worker to take it (this
    // one's second slot) fails it without running it: no runner ever hears of it.
    const connection = new Redis(url(), { maxRetriesPerRequest: null });
    const frozen = new Worker(
      bull.name,
      async () => {
        await service.runtime.store.beginAttempt(leadId);
        await new Promise(() => {});
      },
      {
        connection,
        concurrency: 2,
        prefix: bull.opts.prefix,
        lockDuration: 300,
        lockRenewTime: 600_000,
        stalledInterval: 200,
        maxStalledCount: 0,
      },
    );
    try {
      const deadline = Date.now() + 20_000;
      while ((await bull.getJobState(leadId)) !== "failed" && Date.now() < deadline) await sleep(50);
      expect(await bull.getJobState(leadId)).toBe("failed");
      expect((await service.runtime.store.getLead(leadId))?.status).toBe("running");

      const report = await service.runtime.reconciler.reconcile();
      expect(report.failed).toEqual([leadId]);
      const lead = await service.runtime.store.getLead(leadId);
      expect(lead).toMatchObject({
        status: "failed",
        lastError: { message: expect.stringContaining("stalled") },
      });
      expect(await service.runtime.queue.inspect(leadId)).toMatchObject({ state: "failed" });
    } finally {
      await frozen.close(true);
      connection.disconnect();
    }
  });
});
