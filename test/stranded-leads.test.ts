/**
 * Nothing is stranded (embedded profile): a run whose final write fails, a lead stored without a job, a lead
 * left running by a worker that is gone, a job whose attempts ran out behind the runner's back. The
 * reconciler settles each; an admin retry takes a stranded lead; a failed run with attempts left shows
 * `retrying` with its next attempt time.
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATABASE_FILE } from "../app/runtime.ts";
import { createLeadRunner } from "../graph/runner.ts";
import type { GraphDeps } from "../nodes/deps.ts";
import type { LeadStore } from "../store/lead-store.ts";
import {
  DELIVERED,
  QUALIFIED_LEAD,
  sampleLead,
  startService,
  type TestService,
  waitForStatus,
} from "./helpers/app.ts";

const TOKEN = "admin-token-0123456789abcdef";
const auth = { authorization: `Bearer ${TOKEN}` };

describe("stranded leads, embedded profile", () => {
  let service: TestService;
  const notifier = { failing: false };

  beforeAll(async () => {
    // No worker: each test decides what runs. Two attempts, the second a minute after the first.
    service = await startService(
      { ADMIN_TOKENS: TOKEN },
      {
        worker: false,
        queue: { attempts: 2, backoffMs: 60_000, pollMs: 20 },
        overrideDeps: (deps: GraphDeps): GraphDeps => ({
          ...deps,
          notifier: {
            name: "switchable",
            findPosted: (message, after) => deps.notifier.findPosted(message, after),
            send: (message, previous) =>
              notifier.failing
                ? Promise.reject(new Error("slack: channel_not_found"))
                : deps.notifier.send(message, previous),
          },
        }),
      },
    );
  });
  afterAll(async () => {
    await service.close();
  });

  async function stored(email: string): Promise<string> {
    const accepted = await service.runtime.service.accept({ body: { ...sampleLead(QUALIFIED_LEAD), email } });
    if (!accepted.ok) throw new Error(accepted.message);
    return accepted.leadId;
  }

  it("a failure in the run's final write to the store leaves the lead failed, not running", async () => {
    const { runtime } = service;
    const leadId = await stored("final.write@bramblewick.com");
    const failingCompletion: LeadStore = new Proxy(runtime.store, {
      get(target, prop, receiver) {
        // The final write: a qualified lead ends waiting for its owner (markAwaiting), others completed.
        if (prop === "markCompleted" || prop === "markAwaiting")
          return () => Promise.reject(new Error("store: disk I/O error"));
        const value = Reflect.get(target, prop, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const runner = createLeadRunner({
      graph: runtime.graph,
      store: failingCompletion,
      checkpointer: runtime.checkpointer,
      logger: { info() {}, warn() {}, error() {}, debug() {} },
    });
    await expect(runner.run(leadId)).rejects.toThrow("disk I/O error");
    expect(await runtime.store.getLead(leadId)).toMatchObject({
      status: "failed",
      lastError: { message: expect.stringContaining("disk I/O error") },
    });
    // With attempts left the queue runs it again: `retrying`, with the time of that run.
    await expect(runner.run(leadId, { retryDelayMs: 60_000 })).rejects.toThrow("disk I/O error");
    const retrying = await runtime.store.getLead(leadId);
    expect(retrying?.status).toBe("retrying");
    expect(Date.parse(retrying?.nextAttemptAt ?? "") - Date.now()).toBeGreaterThan(50_000);
    // The next run finds the checkpoint waiting in awaitOwner and only records the wait.
    expect(await runtime.runner.run(leadId)).toBe("awaiting");
    expect(await runtime.store.getLead(leadId)).toMatchObject({ status: "awaiting" });
  });

  it("the reconciler requeues leads with no live job and fails those whose job failed for good", async () => {
    const { runtime } = service;
    const { store, queue } = runtime;
    // Stored by intake, never enqueued (the process died in between).
    const neverEnqueued = await stored("never.enqueued@bramblewick.com");
    // Left running by a worker that is gone, its job removed.
    const orphan = await stored("orphan@bramblewick.com");
    await store.beginAttempt(orphan);
    // Running, but its job failed for good without the runner hearing of it.
    const failedJob = await stored("failed.job@bramblewick.com");
    await store.beginAttempt(failedJob);
    const raw = new DatabaseSync(join(service.dataDir, DATABASE_FILE));
    raw.prepare("DELETE FROM jobs WHERE lead_id IN (?, ?)").run(neverEnqueued, orphan);
    raw
      .prepare("UPDATE jobs SET state = 'failed', attempts_made = 2, last_error = ? WHERE lead_id = ?")
      .run("the worker running it stopped (2 of 2 runs)", failedJob);
    raw.close();
    expect(await queue.inspect(neverEnqueued)).toBeNull();

    const report = await runtime.reconciler.reconcile();
    expect(report.requeued.sort()).toEqual([neverEnqueued, orphan].sort());
    expect(report.failed).toEqual([failedJob]);
    expect(await queue.inspect(neverEnqueued)).toMatchObject({ state: "waiting" });
    expect(await queue.inspect(orphan)).toMatchObject({ state: "waiting" });
    expect(await store.getLead(failedJob)).toMatchObject({
      status: "failed",
      lastError: { message: "the worker running it stopped (2 of 2 runs)" },
    });
    // A second pass finds nothing to do: the requeued jobs are live.
    expect(await runtime.reconciler.reconcile()).toMatchObject({ requeued: [], failed: [] });
  });

  it("admin retry refuses a lead whose job is live (queued, waiting for a worker)", async () => {
    const leadId = await stored("waiting@bramblewick.com");
    const res = await service.app.inject({
      method: "POST",
      url: `/admin/leads/${leadId}/retry`,
      headers: auth,
    });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ error: "in_progress" });
  });
});

describe("retrying leads and admin retry, embedded profile", () => {
  let service: TestService;
  const notifier = { failing: true };

  beforeAll(async () => {
    service = await startService(
      { ADMIN_TOKENS: TOKEN },
      {
        queue: { attempts: 2, backoffMs: 60_000, pollMs: 20 },
        overrideDeps: (deps: GraphDeps): GraphDeps => ({
          ...deps,
          notifier: {
            name: "switchable",
            findPosted: (message, after) => deps.notifier.findPosted(message, after),
            send: (message, previous) =>
              notifier.failing
                ? Promise.reject(new Error("slack: channel_not_found"))
                : deps.notifier.send(message, previous),
          },
        }),
      },
    );
  });
  afterAll(async () => {
    await service.close();
  });

  const get = (leadId: string) => service.app.inject({ url: `/admin/leads/${leadId}`, headers: auth });
  const retry = (leadId: string) =>
    service.app.inject({ method: "POST", url: `/admin/leads/${leadId}/retry`, headers: auth });

  it("a failed run with attempts left is retrying, with its next attempt time; admin retry runs it now", async () => {
    const res = await service.app.inject({
      method: "POST",
      url: "/webhooks/lead",
      payload: { ...sampleLead(QUALIFIED_LEAD), email: "retrying@bramblewick.com" },
    });
    const { leadId } = res.json<{ leadId: string }>();
    const retrying = await waitForStatus(service.runtime.store, leadId, ["retrying", "failed", ...DELIVERED]);
    expect(retrying.status).toBe("retrying");
    const shown = (await get(leadId)).json();
    expect(shown).toMatchObject({
      status: "retrying",
      lastError: { node: "notifyOwner", message: expect.stringContaining("channel_not_found") },
    });
    expect(Date.parse(shown.nextAttemptAt) - Date.now()).toBeGreaterThan(50_000);
    // The queue records the run's outcome just after the runner records the lead's: wait for that write.
    for (
      let tries = 0;
      tries < 250 && (await service.runtime.queue.inspect(leadId))?.state === "active";
      tries++
    )
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await service.runtime.queue.inspect(leadId))?.state).toBe("delayed");
    const listed = await service.app.inject({ url: "/admin/leads?status=retrying", headers: auth });
    expect(listed.json().leads.map((l: { leadId: string }) => l.leadId)).toContain(leadId);

    notifier.failing = false;
    expect((await retry(leadId)).statusCode).toBe(202);
    const done = await waitForStatus(service.runtime.store, leadId, [...DELIVERED, "failed"]);
    expect(done.status).toBeOneOf(DELIVERED);
    expect((await get(leadId)).json().nextAttemptAt).toBeUndefined();
  });

  it("takes a lead left running without a live job", async () => {
    notifier.failing = false;
    const { store } = service.runtime;
    const accepted = await service.runtime.service.accept({
      body: { ...sampleLead(QUALIFIED_LEAD), email: "stuck@bramblewick.com" },
    });
    if (!accepted.ok) throw new Error(accepted.message);
    const { leadId } = accepted;
    await waitForStatus(store, leadId, DELIVERED);
    // A lead the store says is running but that no job will ever run again.
    await store.createLead({
      leadId: "stuck-1",
      receivedAt: new Date().toISOString(),
      payload: sampleLead(QUALIFIED_LEAD),
    });
    await store.beginAttempt("stuck-1");
    const res = await retry("stuck-1");
    expect(res.statusCode, res.body).toBe(202);
    expect((await waitForStatus(store, "stuck-1", [...DELIVERED, "failed"])).status).toBe("awaiting");

    const completed = await retry("stuck-1");
    expect(completed.statusCode).toBe(409);
    expect(completed.json().error).toBe("awaiting");
  });
});
