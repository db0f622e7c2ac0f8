/**
 * Acceptance SLAs and races in both profiles (docs/architecture.md, "The owner loop"): a 2-second SLA on a
 * pool reassigns a lead exactly once (maxReassignments 1, then the owner is reminded); Accept racing a timer
 * of the same wait decides once; and a worker SIGKILLed while the lead waits leaves a durable timer (a
 * delayed BullMQ job, a jobs-table row) that a restarted worker fires once, after which an action from the
 * CLI still resumes the lead.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATABASE_FILE } from "../app/runtime.ts";
import type { Handoff, Ownership } from "../domain/ownership.ts";
import { createLeadRunner } from "../graph/runner.ts";
import type { LeadStore } from "../store/lead-store.ts";
import { RedisLeadStore } from "../store/redis-lead-store.ts";
import { SqliteLeadStore } from "../store/sqlite-lead-store.ts";
import { sampleLead, startService, type TestService, waitForStatus } from "./helpers/app.ts";
import { PROFILES, postJson, profileEnv } from "./helpers/profiles.ts";
import { startRedis, type TestRedis } from "./helpers/redis-server.ts";
import { ingest, startWorker, within } from "./helpers/workers.ts";

/** routing.json with every owner always working and an SLA on the na-enterprise pool (L025 goes there). */
function slaRouting(dir: string, acceptWithin: string): string {
  const config = JSON.parse(readFileSync("config/routing.json", "utf8")) as {
    owners: Array<Record<string, unknown>>;
    pools: Array<Record<string, unknown>>;
  };
  for (const owner of config.owners) {
    delete owner.hours;
    delete owner.timezone;
    delete owner.away;
    delete owner.dailyCap;
  }
  const pool = config.pools.find((p) => p.id === "na-enterprise");
  if (!pool) throw new Error("routing.json has no na-enterprise pool");
  pool.sla = { acceptWithin, onBreach: "reassign", maxReassignments: 1 };
  const file = join(dir, "routing.json");
  writeFileSync(file, JSON.stringify(config));
  return file;
}

function ownershipOf(lead: { result?: Record<string, unknown> } | null): Ownership | undefined {
  return lead?.result?.ownership as Ownership | undefined;
}

/** Waits (bounded) until the lead waits in `round` (or later). */
async function waitForRound(
  store: LeadStore,
  leadId: string,
  round: number,
  ms = 60_000,
): Promise<Ownership> {
  const deadline = Date.now() + ms;
  for (;;) {
    const lead = await store.getLead(leadId);
    const own = ownershipOf(lead);
    if (lead?.status === "awaiting" && own && (own.round ?? 0) >= round) return own;
    if (lead?.status === "failed") throw new Error(`lead failed: ${lead.lastError?.message}`);
    if (Date.now() > deadline)
      throw new Error(`lead ${leadId} never waited in round ${round}: ${lead?.status}`);
    await sleep(25);
  }
}

const slaHandoffs = (own: Ownership | undefined): Handoff[] =>
  (own?.handoffs ?? []).filter((h) => h.kind === "sla");

let redis: TestRedis | undefined;
const dirs: string[] = [];
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe.each(PROFILES)("acceptance SLA, %s profile", (profile) => {
  let service: TestService;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "leadgraph-sla-"));
    dirs.push(dir);
    service = await startService({ ...profileEnv(profile, redis, 5), ROUTING_FILE: slaRouting(dir, "2s") });
  });
  afterAll(async () => {
    await service.close();
  });

  async function delivered(): Promise<string> {
    const email = `sla-${profile}-${Math.random().toString(36).slice(2)}@kestrova.io`;
    const res = await postJson(service, { ...sampleLead("L025"), email });
    expect(res.statusCode).toBe(202);
    const { leadId } = res.json() as { leadId: string };
    await waitForStatus(service.runtime.store, leadId, ["awaiting", "failed"]);
    return leadId;
  }

  it("a 2-second SLA reassigns the lead exactly once, then reminds the new owner", async () => {
    const leadId = await delivered();
    const first = await waitForRound(service.runtime.store, leadId, 0);
    expect(first.deadline).toBeDefined();
    expect(Date.parse(first.deadline ?? "") - Date.parse(first.awaitingSince ?? "")).toBe(2000);
    // Round 1: the SLA handed it on; round 2: the second breach reminded (maxReassignments 1), no timer left.
    const settled = await waitForRound(service.runtime.store, leadId, 2, 60_000);
    expect(settled.deadline).toBeUndefined();
    await sleep(2500);
    const lead = await service.runtime.store.getLead(leadId);
    const own = ownershipOf(lead);
    expect(lead?.status).toBe("awaiting");
    expect(own?.handoffs).toHaveLength(1);
    expect(slaHandoffs(own)).toMatchObject([{ from: first.ownerId, kind: "sla", by: "sla-timer" }]);
    expect(own?.ownerId).not.toBe(first.ownerId);
    expect(own?.handoffs[0]?.afterMs).toBeGreaterThanOrEqual(2000);
    expect(lead?.result?.explanation).toEqual(
      expect.arrayContaining([expect.stringContaining("hand-off 1: SLA missed by sla-timer")]),
    );
    // The wait and the hand-off are on the timeline, the wait with its length.
    const waits = lead?.timeline.filter((t) => t.node === "awaitOwner") ?? [];
    expect(waits.length).toBeGreaterThanOrEqual(2);
    expect(waits[0]?.durationMs).toBeGreaterThanOrEqual(2000);
    expect(lead?.timeline.find((t) => t.node === "applyDecision")?.detail).toMatch(/sla/);
    // Two breaches: the one that reassigned, the one that reminded.
    expect(lead?.facets.slaBreachedBy).toEqual([first.ownerId, own?.ownerId]);
    const metrics = (await service.app.inject("/metrics")).body;
    expect(metrics).toMatch(/leadgraph_sla_breaches_total\{owner="[a-z.]+",action="reassign"\} [1-9]/);
    expect(metrics).toMatch(/leadgraph_sla_breaches_total\{owner="[a-z.]+",action="notify"\} [1-9]/);
    expect(metrics).toMatch(/leadgraph_reassignments_total\{kind="sla"\} [1-9]/);
    const report = await service.runtime.service.reports(1);
    expect(report.acceptance.slaBreaches).toBeGreaterThanOrEqual(2);
  });

  it("Accept racing a timer of the same wait: exactly one outcome", async () => {
    const leadId = await delivered();
    await waitForRound(service.runtime.store, leadId, 0);
    const at = new Date().toISOString();
    await Promise.all([
      service.runtime.service.act(leadId, { action: "accept", by: "maya", via: "admin" }),
      // The same wait's timer, firing now (its own scheduled one is 2 s away).
      service.runtime.queue.enqueueResume({
        leadId,
        jobId: `race:${leadId}:0`,
        value: { type: "timer", round: 0, at },
      }),
    ]);
    let lead = await service.runtime.store.getLead(leadId);
    for (const end = Date.now() + 30_000; Date.now() < end; await sleep(25)) {
      lead = await service.runtime.store.getLead(leadId);
      const own = ownershipOf(lead);
      if (lead?.status === "completed" || (own?.round ?? 0) >= 1) break;
    }
    // Let the loser run (and the real timer of round 0 fire) before judging.
    await sleep(3000);
    lead = await service.runtime.store.getLead(leadId);
    const own = ownershipOf(lead);
    if (lead?.status === "completed") {
      expect(own).toMatchObject({ status: "accepted", decidedBy: "maya" });
      expect(own?.handoffs).toEqual([]);
    } else {
      expect(slaHandoffs(own)).toHaveLength(1);
      expect(own?.decidedBy).toBeUndefined();
    }
  });
});

describe.each(PROFILES)("a worker killed while the lead waits, %s profile", (profile) => {
  it("the timer still fires once after a restart, and an action still resumes the lead", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "leadgraph-sla-crash-"));
    dirs.push(dataDir);
    const envVars: Record<string, string> = {
      DATA_DIR: dataDir,
      ROUTING_FILE: slaRouting(dataDir, "4s"),
      ...(profile === "redis" ? profileEnv(profile, redis, 6) : {}),
    };
    const store: LeadStore =
      profile === "redis"
        ? new RedisLeadStore({ redis: envVars.REDIS_URL ?? "" })
        : new SqliteLeadStore({ path: join(dataDir, DATABASE_FILE) });
    try {
      const [leadId = ""] = await ingest(envVars, [
        { ...sampleLead("L025"), email: `crash-${profile}@kestrova.io` },
      ]);
      const first = startWorker(envVars, []);
      const waiting = await within(
        waitForRound(store, leadId, 0, 120_000),
        125_000,
        "first wait",
        first.child,
      );
      expect(waiting.deadline).toBeDefined();
      first.child.kill("SIGKILL");
      expect((await within(first.exited, 15_000, "worker killed", first.child)).signal).toBe("SIGKILL");
      // While no worker runs, the deadline passes; the timer is in the queue's storage, not in a process.
      await sleep(Math.max(0, Date.parse(waiting.deadline ?? "") - Date.now()) + 200);
      expect((await store.getLead(leadId))?.status).toBe("awaiting");

      const second = startWorker(envVars, []);
      try {
        // A failure here says what the restarted worker logged (its warnings and errors).
        const moved = await within(
          waitForRound(store, leadId, 1, 120_000),
          125_000,
          "timer after restart",
          second.child,
        ).catch(async (err: Error) => {
          throw new Error(`${err.message}\nworker: ${(await second.exited).stderr.slice(-4000)}`);
        });
        expect(slaHandoffs(moved)).toHaveLength(1);
        expect(moved.ownerId).not.toBe(waiting.ownerId);
        // The new owner's own SLA runs out too (a reminder: maxReassignments is 1), which ends the timers; an
        // action queued before that would be of a wait already decided, and change nothing.
        const reminded = await within(
          waitForRound(store, leadId, 2, 120_000),
          125_000,
          "reminder",
          second.child,
        );
        expect(reminded.deadline).toBeUndefined();
        expect(reminded.ownerId).toBe(moved.ownerId);
        // An action from another process resumes the new owner's wait.
        const cli = spawnSync(process.execPath, ["cli.ts", "lead", "accept", leadId, "--by", "new-owner"], {
          env: {
            PATH: process.env.PATH ?? "",
            HOME: process.env.HOME ?? "",
            LOG_LEVEL: "silent",
            ...envVars,
          },
          encoding: "utf8",
          timeout: 60_000,
        });
        expect(cli.status, cli.stderr).toBe(0);
        const done = await within(
          waitForStatus(store, leadId, ["completed", "failed"], 60_000),
          65_000,
          "accept after restart",
          second.child,
        );
        const own = ownershipOf(done);
        expect(own).toMatchObject({ status: "accepted", decidedBy: "new-owner", ownerId: moved.ownerId });
        // The timer of the killed worker's wait fired once: one SLA hand-off, ever.
        expect(slaHandoffs(own)).toHaveLength(1);
      } finally {
        second.child.kill("SIGTERM");
        // Bounded: a worker that does not stop is killed, never left behind.
        await within(second.exited, 15_000, "worker shutdown", second.child).catch(() => undefined);
      }
    } finally {
      await store.close();
    }
  }, 300_000);
});

describe("the SLA timer and the waiting record, embedded profile", () => {
  it("stores the timer before it marks the lead awaiting, so a kill in between never leaves a wait without it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "leadgraph-sla-order-"));
    dirs.push(dir);
    const service = await startService({ ROUTING_FILE: slaRouting(dir, "4s") }, { worker: false });
    const raw = new DatabaseSync(join(service.dataDir, DATABASE_FILE));
    try {
      const { runtime } = service;
      const res = await postJson(service, { ...sampleLead("L025"), email: "order@kestrova.io" });
      expect(res.statusCode).toBe(202);
      const { leadId } = res.json() as { leadId: string };
      const timers = () =>
        Number(raw.prepare("SELECT count(*) AS n FROM jobs WHERE lead_id = ?").get(`sla:${leadId}:0`)?.n);
      let timersWhenMarked: number | undefined;
      // The store as the runner sees it, noting what the queue holds when the lead is marked awaiting.
      const store: LeadStore = new Proxy(runtime.store, {
        get(target, prop, receiver) {
          if (prop === "markAwaiting")
            return (...args: Parameters<LeadStore["markAwaiting"]>) => {
              timersWhenMarked = timers();
              return target.markAwaiting(...args);
            };
          const value = Reflect.get(target, prop, receiver);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      const runner = createLeadRunner({
        graph: runtime.graph,
        store,
        checkpointer: runtime.checkpointer,
        logger: { info() {}, warn() {}, error() {}, debug() {} },
        scheduleTimer: (job) => runtime.queue.enqueueResume(job),
      });
      expect(await runner.run(leadId)).toBe("awaiting");
      expect(timersWhenMarked).toBe(1);
      expect((await runtime.store.getLead(leadId))?.status).toBe("awaiting");
    } finally {
      raw.close();
      await service.close();
    }
  });
});
