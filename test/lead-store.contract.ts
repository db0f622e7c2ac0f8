/**
 * The behaviour every `LeadStore` adapter owes the runtime, run against each adapter by its own test file.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { compareIds, type LeadRecord, type LeadStore, type NewLead } from "../store/lead-store.ts";

export interface LeadStoreHarness {
  /** A store over fresh, empty data. */
  store: LeadStore;
  /** Another store over the same data through its own connection: what a second process sees. */
  twin(): Promise<LeadStore>;
  /** Ends the lease on a ledger claim, as if its holder had stalled past it (the backend's own way). */
  expireLedgerClaim(key: string): Promise<void>;
}

export type LeadStoreFactory = () => Promise<LeadStoreHarness>;

const BASE_MS = Date.parse("2025-03-01T09:00:00.000Z");

function newLead(overrides: Partial<NewLead> = {}): NewLead {
  return {
    leadId: randomUUID(),
    source: "generic",
    receivedAt: new Date(BASE_MS).toISOString(),
    payload: { email: "ada@example.com", company: "Analytical Engines", tags: ["a", "b"], n: 1.5 },
    ...overrides,
  };
}

async function mustGet(store: LeadStore, leadId: string): Promise<LeadRecord> {
  const lead = await store.getLead(leadId);
  if (!lead) throw new Error(`lead ${leadId} missing`);
  return lead;
}

async function collectPages(
  store: LeadStore,
  options: { status?: LeadRecord["status"]; limit: number },
): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await store.listLeads({ ...options, cursor });
    pages++;
    expect(page.leads.length).toBeLessThanOrEqual(options.limit);
    ids.push(...page.leads.map((l) => l.leadId));
    cursor = page.nextCursor;
  } while (cursor !== undefined && pages < 1000);
  return { ids, pages };
}

/** Newest first, ties by leadId descending in byte order: the order both adapters promise. */
function expectedOrder(leads: NewLead[]): string[] {
  return [...leads]
    .sort((a, b) => Date.parse(b.receivedAt) - Date.parse(a.receivedAt) || compareIds(b.leadId, a.leadId))
    .map((l) => l.leadId);
}

export function runLeadStoreContract(name: string, factory: LeadStoreFactory): void {
  describe(`LeadStore contract: ${name}`, () => {
    const opened: LeadStore[] = [];

    async function open(): Promise<{
      store: LeadStore;
      twin: () => Promise<LeadStore>;
      expireLedgerClaim: (key: string) => Promise<void>;
    }> {
      const harness = await factory();
      opened.push(harness.store);
      return {
        store: harness.store,
        expireLedgerClaim: (key) => harness.expireLedgerClaim(key),
        twin: async () => {
          const twin = await harness.twin();
          opened.push(twin);
          return twin;
        },
      };
    }

    afterEach(async () => {
      for (const store of opened.splice(0).reverse()) await store.close();
    });

    describe("lead lifecycle", () => {
      it("creates a queued lead with 0 attempts and keeps the payload as JSON", async () => {
        const { store } = await open();
        const input = newLead({ idempotencyKey: "hs-123" });
        await store.createLead(input);
        const lead = await mustGet(store, input.leadId);
        expect(lead).toMatchObject({
          leadId: input.leadId,
          status: "queued",
          source: "generic",
          receivedAt: input.receivedAt,
          attempts: 0,
          idempotencyKey: "hs-123",
          payload: input.payload,
          timeline: [],
        });
        expect(Number.isFinite(Date.parse(lead.updatedAt))).toBe(true);
        expect(lead.lastError).toBeUndefined();
        expect(lead.result).toBeUndefined();
      });

      it("leaves optional fields out when the lead has none", async () => {
        const { store } = await open();
        const input: NewLead = {
          leadId: randomUUID(),
          receivedAt: new Date(BASE_MS).toISOString(),
          payload: null,
        };
        await store.createLead(input);
        const lead = await mustGet(store, input.leadId);
        expect(lead.payload).toBeNull();
        expect("source" in lead).toBe(false);
        expect("idempotencyKey" in lead).toBe(false);
      });

      it("walks queued -> running -> failed -> queued -> running -> completed, counting attempts", async () => {
        const { store } = await open();
        const input = newLead();
        await store.createLead(input);

        await store.markRunning(input.leadId);
        expect(await mustGet(store, input.leadId)).toMatchObject({ status: "running", attempts: 1 });

        await store.markFailed(input.leadId, { node: "notifyOwner", message: "slack: ratelimited" });
        const failed = await mustGet(store, input.leadId);
        expect(failed).toMatchObject({
          status: "failed",
          attempts: 1,
          lastError: { node: "notifyOwner", message: "slack: ratelimited" },
        });
        expect(Number.isFinite(Date.parse(failed.lastError?.at ?? ""))).toBe(true);

        await store.markQueued(input.leadId);
        expect(await mustGet(store, input.leadId)).toMatchObject({ status: "queued", attempts: 1 });

        await store.markRunning(input.leadId);
        const result = {
          score: 82,
          tier: "hot",
          owner: "ae-emea-1",
          ruleName: "emea-enterprise",
          path: "qualified",
        };
        await store.markCompleted(input.leadId, result);
        const done = await mustGet(store, input.leadId);
        expect(done).toMatchObject({ status: "completed", attempts: 2, result });
        // A completed lead carries no error (the timeline keeps the failed step): a stale one would read as current.
        expect(done.lastError).toBeUndefined();
        expect("lastError" in done).toBe(false);
      });

      it("begins an attempt atomically: reads the lead as it was and marks it running, unless completed", async () => {
        const { store, twin } = await open();
        const input = newLead();
        await store.createLead(input);
        await store.appendTimeline(input.leadId, {
          node: "capture",
          startedAt: new Date(BASE_MS).toISOString(),
          status: "ok",
        });

        const first = await store.beginAttempt(input.leadId);
        expect(first).toMatchObject({
          leadId: input.leadId,
          status: "queued",
          attempts: 0,
          payload: input.payload,
        });
        expect(first && "timeline" in first).toBe(false);
        expect(await mustGet(store, input.leadId)).toMatchObject({ status: "running", attempts: 1 });
        expect((await store.listLeads({ status: "running" })).leads.map((l) => l.leadId)).toEqual([
          input.leadId,
        ]);
        expect((await store.listLeads({ status: "queued" })).leads).toEqual([]);

        // A stalled run taken over: still running, one more attempt.
        expect(await (await twin()).beginAttempt(input.leadId)).toMatchObject({
          status: "running",
          attempts: 1,
        });
        await store.markFailed(input.leadId, { message: "boom" });
        expect(await store.beginAttempt(input.leadId)).toMatchObject({ status: "failed", attempts: 2 });
        await store.markCompleted(input.leadId, { path: "qualified" });

        // A completed lead is left as it is.
        const done = await store.beginAttempt(input.leadId);
        expect(done).toMatchObject({ status: "completed", attempts: 3, result: { path: "qualified" } });
        expect(await mustGet(store, input.leadId)).toMatchObject({ status: "completed", attempts: 3 });
        expect(await store.countByStatus()).toEqual({
          queued: 0,
          running: 0,
          retrying: 0,
          awaiting: 0,
          completed: 1,
          failed: 0,
        });

        expect(await store.beginAttempt("nope")).toBeNull();
        expect(await store.countByStatus()).toEqual({
          queued: 0,
          running: 0,
          retrying: 0,
          awaiting: 0,
          completed: 1,
          failed: 0,
        });
      });

      it("marks a lead retrying with its next attempt time, which only the retrying status keeps", async () => {
        const { store, twin } = await open();
        const input = newLead();
        await store.createLead(input);
        await store.markRunning(input.leadId);
        const next = "2025-03-01T09:01:00.000Z";
        await store.markRetrying(input.leadId, { node: "syncCrm", message: "hubspot: HTTP 503" }, next);
        const retrying = await mustGet(await twin(), input.leadId);
        expect(retrying).toMatchObject({
          status: "retrying",
          attempts: 1,
          nextAttemptAt: next,
          lastError: { node: "syncCrm", message: "hubspot: HTTP 503" },
        });
        expect((await store.listLeads({ status: "retrying" })).leads.map((l) => l.leadId)).toEqual([
          input.leadId,
        ]);
        expect(await store.countByStatus()).toMatchObject({ retrying: 1, running: 0 });

        // The next run: running again, the error of the last run still shown, no next attempt time.
        expect(await store.beginAttempt(input.leadId)).toMatchObject({
          status: "retrying",
          nextAttemptAt: next,
        });
        const running = await mustGet(store, input.leadId);
        expect(running).toMatchObject({ status: "running", attempts: 2, lastError: { node: "syncCrm" } });
        expect("nextAttemptAt" in running).toBe(false);

        for (const leave of [
          () => store.markFailed(input.leadId, { message: "hubspot: HTTP 503" }),
          () => store.markQueued(input.leadId),
          () => store.markCompleted(input.leadId, { path: "qualified" }),
        ]) {
          await store.markRetrying(input.leadId, { message: "hubspot: HTTP 503" }, next);
          await leave();
          const lead = await mustGet(store, input.leadId);
          expect("nextAttemptAt" in lead).toBe(false);
        }
        expect(await store.countByStatus()).toMatchObject({ retrying: 0, completed: 1 });
      });

      it("marks a delivered lead awaiting with its result, drops the last error, and a resume runs it again", async () => {
        const { store, twin } = await open();
        const input = newLead();
        await store.createLead(input);
        await store.markRunning(input.leadId);
        await store.markRetrying(
          input.leadId,
          { node: "notifyOwner", message: "slack: 503" },
          "2025-03-01T09:01:00.000Z",
        );
        await store.markRunning(input.leadId);
        const ownership = { ownerId: "ana", status: "awaiting", handoffs: [], round: 0 };
        await store.markAwaiting(input.leadId, { path: "qualified", ownership }, { ownerId: "ana" });
        const awaiting = await mustGet(await twin(), input.leadId);
        expect(awaiting).toMatchObject({ status: "awaiting", attempts: 2, result: { ownership } });
        expect("lastError" in awaiting).toBe(false);
        expect("nextAttemptAt" in awaiting).toBe(false);
        expect((await store.listLeads({ status: "awaiting" })).leads.map((l) => l.leadId)).toEqual([
          input.leadId,
        ]);
        expect((await store.listLeads({ ownerId: "ana" })).leads).toHaveLength(1);
        expect(await store.countByStatus()).toMatchObject({ awaiting: 1, running: 0 });
        // A run of a waiting lead starts nothing: it stays awaiting (a resume job moves it on).
        expect(await store.beginAttempt(input.leadId)).toMatchObject({ status: "awaiting" });
        expect(await mustGet(store, input.leadId)).toMatchObject({ status: "awaiting", attempts: 2 });
        await store.markCompleted(input.leadId, { path: "qualified" });
        expect(await store.countByStatus()).toMatchObject({ awaiting: 0, completed: 1 });
      });

      it("rejects a second lead with the same id", async () => {
        const { store } = await open();
        const input = newLead();
        await store.createLead(input);
        await expect(store.createLead(input)).rejects.toMatchObject({
          name: "LeadExistsError",
          code: "lead_exists",
        });
      });

      it("rejects a receivedAt that is not a timestamp", async () => {
        const { store } = await open();
        await expect(store.createLead(newLead({ receivedAt: "yesterday" }))).rejects.toThrow(RangeError);
      });

      it("returns null for an unknown lead and refuses to change it", async () => {
        const { store } = await open();
        expect(await store.getLead("nope")).toBeNull();
        const notFound = { name: "LeadNotFoundError", code: "lead_not_found" };
        await expect(store.markRunning("nope")).rejects.toMatchObject(notFound);
        await expect(store.markQueued("nope")).rejects.toMatchObject(notFound);
        await expect(store.markCompleted("nope", {})).rejects.toMatchObject(notFound);
        await expect(store.markFailed("nope", { message: "x" })).rejects.toMatchObject(notFound);
        await expect(
          store.markRetrying("nope", { message: "x" }, new Date().toISOString()),
        ).rejects.toMatchObject(notFound);
        await expect(
          store.appendTimeline("nope", {
            node: "capture",
            startedAt: new Date().toISOString(),
            status: "ok",
          }),
        ).rejects.toMatchObject(notFound);
        // Refused changes leave no trace in listings or counts.
        expect((await store.listLeads()).leads).toEqual([]);
        expect(await store.countByStatus()).toEqual({
          queued: 0,
          running: 0,
          retrying: 0,
          awaiting: 0,
          completed: 0,
          failed: 0,
        });
      });
    });

    describe("timeline", () => {
      it("keeps entries in append order and fills in durations", async () => {
        const { store } = await open();
        const input = newLead();
        await store.createLead(input);
        const at = (ms: number) => new Date(BASE_MS + ms).toISOString();
        await store.appendTimeline(input.leadId, {
          node: "capture",
          startedAt: at(0),
          endedAt: at(12),
          status: "ok",
        });
        await store.appendTimeline(input.leadId, {
          node: "enrich",
          startedAt: at(12),
          endedAt: at(250),
          durationMs: 237,
          status: "ok",
        });
        await store.appendTimeline(input.leadId, {
          node: "notifyOwner",
          startedAt: at(300),
          endedAt: at(1300),
          status: "error",
          error: "slack: channel_not_found",
        });
        await store.appendTimeline(input.leadId, { node: "syncCrm", startedAt: at(1400), status: "ok" });

        const { timeline } = await mustGet(store, input.leadId);
        expect(timeline.map((e) => e.node)).toEqual(["capture", "enrich", "notifyOwner", "syncCrm"]);
        expect(timeline.map((e) => e.durationMs)).toEqual([12, 237, 1000, undefined]);
        expect(timeline[2]).toMatchObject({ status: "error", error: "slack: channel_not_found" });
      });

      it("reads each entry back as it was written", async () => {
        const { store } = await open();
        const input = newLead();
        await store.createLead(input);
        const at = (ms: number) => new Date(BASE_MS + ms).toISOString();
        const entries = [
          { node: "capture", startedAt: at(0), endedAt: at(3), durationMs: 3, status: "ok" as const },
          {
            node: "notifyOwner",
            startedAt: at(5),
            endedAt: at(905),
            durationMs: 900,
            status: "error" as const,
            error: "slack: ratelimited",
          },
          // A clock that stepped back: the duration is not the end less the start.
          { node: "syncCrm", startedAt: at(1000), endedAt: at(990), durationMs: 0, status: "ok" as const },
          {
            node: "summarize",
            startedAt: "2025-03-01T09:00:00Z",
            endedAt: at(10),
            durationMs: 10,
            status: "ok" as const,
          },
        ];
        for (const entry of entries) await store.appendTimeline(input.leadId, entry);
        expect((await mustGet(store, input.leadId)).timeline).toEqual(entries);
      });

      it("keeps each lead's timeline apart", async () => {
        const { store } = await open();
        const a = newLead();
        const b = newLead();
        await store.createLead(a);
        await store.createLead(b);
        const startedAt = new Date(BASE_MS).toISOString();
        await store.appendTimeline(a.leadId, { node: "capture", startedAt, status: "ok" });
        await store.appendTimeline(b.leadId, { node: "enrich", startedAt, status: "ok" });
        await store.appendTimeline(a.leadId, { node: "scoreLead", startedAt, status: "ok" });
        expect((await mustGet(store, a.leadId)).timeline.map((e) => e.node)).toEqual([
          "capture",
          "scoreLead",
        ]);
        expect((await mustGet(store, b.leadId)).timeline.map((e) => e.node)).toEqual(["enrich"]);
        const listed = (await store.listLeads()).leads.find((l) => l.leadId === a.leadId);
        expect(listed?.timeline.map((e) => e.node)).toEqual(["capture", "scoreLead"]);
      });
    });

    describe("listing", () => {
      // 23 leads, in groups of 3 sharing a millisecond, so pages must break ties by id.
      const makeLeads = () =>
        Array.from({ length: 23 }, (_, i) =>
          newLead({
            leadId: `lead-${String((i * 7) % 23).padStart(2, "0")}-${randomUUID().slice(0, 4)}`,
            receivedAt: new Date(BASE_MS + Math.floor(i / 3) * 1000).toISOString(),
          }),
        );

      it("pages newest first with no duplicates or misses", async () => {
        const { store } = await open();
        const leads = makeLeads();
        for (const lead of leads) await store.createLead(lead);
        for (const limit of [1, 2, 3, 5, 7, 22, 23, 50]) {
          const { ids, pages } = await collectPages(store, { limit });
          expect(ids).toEqual(expectedOrder(leads));
          expect(pages).toBe(Math.max(1, Math.ceil(23 / limit)));
        }
      });

      it("keeps a cursor stable while newer leads arrive", async () => {
        const { store } = await open();
        const leads = makeLeads();
        for (const lead of leads) await store.createLead(lead);
        const first = await store.listLeads({ limit: 4 });
        await store.createLead(newLead({ receivedAt: new Date(BASE_MS + 3_600_000).toISOString() }));
        const ids = first.leads.map((l) => l.leadId);
        let cursor = first.nextCursor;
        while (cursor !== undefined) {
          const page = await store.listLeads({ limit: 4, cursor });
          ids.push(...page.leads.map((l) => l.leadId));
          cursor = page.nextCursor;
        }
        expect(ids).toEqual(expectedOrder(leads));
      });

      it("defaults to 50 per page and returns full records", async () => {
        const { store } = await open();
        const leads = Array.from({ length: 51 }, (_, i) =>
          newLead({ receivedAt: new Date(BASE_MS + i).toISOString() }),
        );
        for (const lead of leads) await store.createLead(lead);
        const page = await store.listLeads();
        expect(page.leads).toHaveLength(50);
        expect(page.nextCursor).toBeDefined();
        expect(page.leads[0]).toMatchObject({
          leadId: leads[50]?.leadId,
          status: "queued",
          payload: leads[50]?.payload,
        });
        const rest = await store.listLeads({ cursor: page.nextCursor });
        expect(rest.leads.map((l) => l.leadId)).toEqual([leads[0]?.leadId]);
        expect(rest.nextCursor).toBeUndefined();
      });

      it("returns an empty page from an empty store", async () => {
        const { store } = await open();
        expect(await store.listLeads()).toEqual({ leads: [] });
        expect(await store.listLeads({ status: "failed" })).toEqual({ leads: [] });
      });

      it("rejects a cursor it did not issue and a bad limit", async () => {
        const { store } = await open();
        await expect(store.listLeads({ cursor: "not-a-cursor" })).rejects.toMatchObject({
          code: "invalid_cursor",
        });
        await expect(store.listLeads({ limit: 0 })).rejects.toThrow(RangeError);
      });

      it("lists by status, follows status changes, and counts by status", async () => {
        const { store } = await open();
        expect(await store.countByStatus()).toEqual({
          queued: 0,
          running: 0,
          retrying: 0,
          awaiting: 0,
          completed: 0,
          failed: 0,
        });
        const leads = Array.from({ length: 9 }, (_, i) =>
          newLead({ receivedAt: new Date(BASE_MS + i * 1000).toISOString() }),
        );
        for (const lead of leads) await store.createLead(lead);
        const id = (i: number) => leads[i]!.leadId;
        for (const i of [0, 1, 2, 3, 4, 5]) await store.markRunning(id(i));
        for (const i of [0, 2, 4]) await store.markFailed(id(i), { message: "crm down" });
        for (const i of [1, 3]) await store.markCompleted(id(i), { score: 50 });

        expect(await store.countByStatus()).toEqual({
          queued: 3,
          running: 1,
          retrying: 0,
          awaiting: 0,
          completed: 2,
          failed: 3,
        });
        expect((await collectPages(store, { status: "failed", limit: 2 })).ids).toEqual([
          id(4),
          id(2),
          id(0),
        ]);
        expect((await collectPages(store, { status: "completed", limit: 1 })).ids).toEqual([id(3), id(1)]);
        expect((await collectPages(store, { status: "running", limit: 5 })).ids).toEqual([id(5)]);
        expect((await collectPages(store, { status: "queued", limit: 5 })).ids).toEqual([
          id(8),
          id(7),
          id(6),
        ]);

        // A retry moves the lead out of the failed list.
        await store.markQueued(id(2));
        expect((await collectPages(store, { status: "failed", limit: 5 })).ids).toEqual([id(4), id(0)]);
        expect((await collectPages(store, { status: "queued", limit: 5 })).ids).toEqual([
          id(8),
          id(7),
          id(6),
          id(2),
        ]);
        expect(await store.countByStatus()).toEqual({
          queued: 4,
          running: 1,
          retrying: 0,
          awaiting: 0,
          completed: 2,
          failed: 2,
        });
        expect((await collectPages(store, { limit: 4 })).ids).toHaveLength(9);
      });

      it("continues a status listing after the cursor's lead changed status", async () => {
        const { store } = await open();
        const leads = Array.from({ length: 5 }, (_, i) =>
          newLead({ receivedAt: new Date(BASE_MS + i).toISOString() }),
        );
        for (const lead of leads) await store.createLead(lead);
        const first = await store.listLeads({ status: "queued", limit: 2 });
        expect(first.leads.map((l) => l.leadId)).toEqual([leads[4]!.leadId, leads[3]!.leadId]);
        await store.markRunning(leads[3]!.leadId);
        const rest = await store.listLeads({ status: "queued", limit: 5, cursor: first.nextCursor });
        expect(rest.leads.map((l) => l.leadId)).toEqual([
          leads[2]!.leadId,
          leads[1]!.leadId,
          leads[0]!.leadId,
        ]);
      });
    });

    describe("idempotency keys", () => {
      it("claims once and names the first lead on a duplicate", async () => {
        const { store } = await open();
        expect(await store.claimIdempotencyKey("hubspot:evt-1", "lead-a")).toEqual({ claimed: true });
        expect(await store.claimIdempotencyKey("hubspot:evt-1", "lead-b")).toEqual({
          claimed: false,
          leadId: "lead-a",
        });
        expect(await store.claimIdempotencyKey("hubspot:evt-2", "lead-b")).toEqual({ claimed: true });
      });

      it("lets exactly one of many concurrent claimants win, across processes", async () => {
        const { store, twin } = await open();
        const other = await twin();
        const claims = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            (i % 2 === 0 ? store : other).claimIdempotencyKey("form:same", `lead-${i}`),
          ),
        );
        const winners = claims.flatMap((c, i) => (c.claimed ? [`lead-${i}`] : []));
        expect(winners).toHaveLength(1);
        for (const claim of claims) if (!claim.claimed) expect(claim.leadId).toBe(winners[0]);
      });

      it("frees a key only for the lead that holds it", async () => {
        const { store } = await open();
        await store.claimIdempotencyKey("k", "lead-a");
        await store.releaseIdempotencyKey("k", "lead-b");
        expect(await store.claimIdempotencyKey("k", "lead-c")).toEqual({ claimed: false, leadId: "lead-a" });
        await store.releaseIdempotencyKey("k", "lead-a");
        expect(await store.claimIdempotencyKey("k", "lead-c")).toEqual({ claimed: true });
        await store.releaseIdempotencyKey("never-claimed", "lead-a");
      });

      it("lets a key be claimed again once its TTL has passed", async () => {
        const { store } = await open();
        expect(await store.claimIdempotencyKey("short", "lead-a", 1)).toEqual({ claimed: true });
        expect(await store.claimIdempotencyKey("long", "lead-a", 60)).toEqual({ claimed: true });
        await sleep(1100);
        expect(await store.claimIdempotencyKey("short", "lead-b", 1)).toEqual({ claimed: true });
        expect(await store.claimIdempotencyKey("long", "lead-b")).toEqual({
          claimed: false,
          leadId: "lead-a",
        });
      });
    });

    describe("counters", () => {
      it("starts at 0 and counts every one of 200 concurrent increments from two processes", async () => {
        const { store, twin } = await open();
        const other = await twin();
        expect(await store.counters.get("rr:pool-emea")).toBe(0);
        const values = await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            (i % 2 === 0 ? store : other).counters.increment("rr:pool-emea"),
          ),
        );
        expect([...values].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
        expect(await store.counters.get("rr:pool-emea")).toBe(200);
        expect(await other.counters.get("rr:pool-emea")).toBe(200);
        expect(await store.counters.get("rr:pool-apac")).toBe(0);
      });

      it("expires a counter by the TTL set when it was created, not extended by later increments", async () => {
        const { store } = await open();
        expect(await store.counters.increment("cap:ae-1:2025-03-01", 1)).toBe(1);
        expect(await store.counters.increment("forever")).toBe(1);
        await sleep(600);
        expect(await store.counters.increment("cap:ae-1:2025-03-01", 1)).toBe(2);
        await sleep(550);
        expect(await store.counters.get("cap:ae-1:2025-03-01")).toBe(0);
        expect(await store.counters.increment("cap:ae-1:2025-03-01", 1)).toBe(1);
        expect(await store.counters.get("forever")).toBe(1);
      });

      it("hands out exactly `limit` slots to 60 concurrent callers in two processes", async () => {
        const { store, twin } = await open();
        const other = await twin();
        const results = await Promise.all(
          Array.from({ length: 60 }, (_, i) =>
            (i % 2 === 0 ? store : other).counters.incrementBelow("cap:ae-1:2025-03-01", 7, 60),
          ),
        );
        const taken = results.filter((r) => r.taken);
        expect(taken.map((r) => r.value).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7]);
        expect(results.filter((r) => !r.taken).every((r) => r.value === 7)).toBe(true);
        expect(await other.counters.get("cap:ae-1:2025-03-01")).toBe(7);
      });

      it("gives a slot back with decrement, never below 0, and the slot can be taken again", async () => {
        const { store } = await open();
        expect(await store.counters.incrementBelow("cap", 1, 60)).toEqual({ taken: true, value: 1 });
        expect(await store.counters.incrementBelow("cap", 1, 60)).toEqual({ taken: false, value: 1 });
        expect(await store.counters.decrement("cap")).toBe(0);
        expect(await store.counters.decrement("cap")).toBe(0);
        expect(await store.counters.decrement("never-set")).toBe(0);
        expect(await store.counters.get("never-set")).toBe(0);
        expect(await store.counters.incrementBelow("cap", 1, 60)).toEqual({ taken: true, value: 1 });
      });

      it("starts a capped counter with its TTL and starts it again once that ran out", async () => {
        const { store } = await open();
        expect((await store.counters.incrementBelow("cap:ae-2:2025-03-01", 2, 1)).value).toBe(1);
        expect((await store.counters.incrementBelow("cap:ae-2:2025-03-01", 2, 1)).value).toBe(2);
        expect((await store.counters.incrementBelow("cap:ae-2:2025-03-01", 2, 1)).taken).toBe(false);
        await sleep(1100);
        expect(await store.counters.incrementBelow("cap:ae-2:2025-03-01", 2, 1)).toEqual({
          taken: true,
          value: 1,
        });
      });
    });

    describe("route memory", () => {
      const route = { ownerId: "maya.patel", leadId: "l-1", routedAt: "2025-03-01T09:00:00.000Z" };

      it("recalls the last route of a person in another process, and forgets an unknown one", async () => {
        const { store, twin } = await open();
        const other = await twin();
        expect(await store.routeMemory.recall("p-1")).toBeUndefined();
        await store.routeMemory.remember("p-1", route, 60);
        expect(await other.routeMemory.recall("p-1")).toEqual(route);
        const later = { ownerId: "liam.oconnor", leadId: "l-2", routedAt: "2025-03-02T09:00:00.000Z" };
        await other.routeMemory.remember("p-1", later, 60);
        expect(await store.routeMemory.recall("p-1")).toEqual(later);
        expect(await store.routeMemory.recall("p-2")).toBeUndefined();
      });

      it("forgets a route once its window (the TTL) has passed", async () => {
        const { store } = await open();
        await store.routeMemory.remember("p-1", route, 1);
        await store.routeMemory.remember("p-2", route, 60);
        await sleep(1100);
        expect(await store.routeMemory.recall("p-1")).toBeUndefined();
        expect(await store.routeMemory.recall("p-2")).toEqual(route);
      });
    });

    describe("ledger", () => {
      it("runs the effect once for 20 concurrent callers in two processes; all get its result", async () => {
        const { store, twin } = await open();
        const other = await twin();
        let runs = 0;
        const post = async () => {
          runs++;
          await sleep(50);
          return { channel: "C123", messageId: "1700000000.000100" };
        };
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            (i % 2 === 0 ? store : other).ledger.once("lead-1:slack", post),
          ),
        );
        expect(runs).toBe(1);
        for (const result of results)
          expect(result).toEqual({ channel: "C123", messageId: "1700000000.000100" });
        expect(await other.ledger.get("lead-1:slack")).toEqual({
          channel: "C123",
          messageId: "1700000000.000100",
        });
      });

      it("returns the stored result to a later caller in another process without running it", async () => {
        const { store, twin } = await open();
        const first: boolean[] = [];
        expect(
          await store.ledger.once("lead-2:crm", async ({ mayExist }) => {
            first.push(mayExist);
            return { contactId: "901" };
          }),
        ).toEqual({ contactId: "901" });
        // A first attempt has nothing to look for.
        expect(first).toEqual([false]);
        const other = await twin();
        let ran = false;
        const again = await other.ledger.once("lead-2:crm", async () => {
          ran = true;
          return { contactId: "902" };
        });
        expect(again).toEqual({ contactId: "901" });
        expect(ran).toBe(false);
        expect(await store.ledger.get("lead-9:crm")).toBeUndefined();
      });

      it("releases the claim when the effect throws, so a retry runs it", async () => {
        const { store } = await open();
        await expect(
          store.ledger.once("lead-3:slack", async () => {
            throw new Error("slack: ratelimited");
          }),
        ).rejects.toThrow("slack: ratelimited");
        expect(await store.ledger.get("lead-3:slack")).toBeUndefined();
        const seen: boolean[] = [];
        const retry = async ({ mayExist }: { mayExist: boolean }) => {
          seen.push(mayExist);
          return "ts-2";
        };
        expect(await store.ledger.once("lead-3:slack", retry)).toBe("ts-2");
        expect(await store.ledger.once("lead-3:slack", retry)).toBe("ts-2");
        // One run, told that the failed attempt may have reached the vendor before it threw.
        expect(seen).toEqual([true]);
      });

      it("hands the effect to a waiting process when the holder's attempt throws", async () => {
        const { store, twin } = await open();
        const other = await twin();
        const failing = store.ledger.once("lead-4:task", async () => {
          await sleep(80);
          throw new Error("crm: 502");
        });
        await sleep(20);
        let waiterRuns = 0;
        const waiting = other.ledger.once("lead-4:task", async ({ mayExist }) => {
          waiterRuns++;
          expect(mayExist).toBe(true);
          return { taskId: "t-1" };
        });
        await expect(failing).rejects.toThrow("crm: 502");
        expect(await waiting).toEqual({ taskId: "t-1" });
        expect(waiterRuns).toBe(1);
      });

      it("keeps the first result when a holder whose claim ran out finishes late", async () => {
        const { store, twin, expireLedgerClaim } = await open();
        const other = await twin();
        let release: () => void = () => undefined;
        const gate = new Promise<void>((resolve) => {
          release = resolve;
        });
        const late = store.ledger.once("lead-9:slack", async () => {
          await gate;
          return "ts-late";
        });
        await sleep(20);
        // The claim runs out (as if the holder had stalled past its lease) and another process takes over,
        // told that the stalled attempt may have taken effect.
        await expireLedgerClaim("lead-9:slack");
        const attempts: boolean[] = [];
        expect(
          await other.ledger.once("lead-9:slack", async ({ mayExist }) => {
            attempts.push(mayExist);
            return "ts-first";
          }),
        ).toBe("ts-first");
        expect(attempts).toEqual([true]);
        release();
        expect(await late).toBe("ts-first");
        expect(await store.ledger.get("lead-9:slack")).toBe("ts-first");
        expect(await other.ledger.get("lead-9:slack")).toBe("ts-first");
      });

      it("counts an undefined result as done", async () => {
        const { store } = await open();
        let runs = 0;
        const effect = async () => {
          runs++;
          return undefined;
        };
        expect(await store.ledger.once("lead-5:nurture", effect)).toBeUndefined();
        expect(await store.ledger.once("lead-5:nurture", effect)).toBeUndefined();
        expect(runs).toBe(1);
      });
    });

    describe("search and filters", () => {
      async function seed(store: LeadStore) {
        const at = (min: number) => new Date(BASE_MS + min * 60_000).toISOString();
        const acme = newLead({
          receivedAt: at(1),
          facets: { email: "jane@acme.com", company: "Acme Corp", emailDomain: "acme.com", channel: "web" },
        });
        const globex = newLead({
          receivedAt: at(2),
          source: "hubspot-workflow",
          facets: {
            email: "hank@globex.io",
            company: "Globex",
            emailDomain: "globex.io",
            channel: "partner",
          },
        });
        const acmeEu = newLead({
          receivedAt: at(3),
          facets: {
            email: "jo@acme.eu",
            company: "ACME Europe GmbH",
            emailDomain: "acme.eu",
            channel: "web",
          },
        });
        for (const lead of [acme, globex, acmeEu]) await store.createLead(lead);
        return { acme, globex, acmeEu, at };
      }
      const ids = (page: { leads: LeadRecord[] }) => page.leads.map((l) => l.leadId);

      it("finds leads by company word, email, domain and owner, newest first", async () => {
        const { store } = await open();
        const { acme, globex, acmeEu } = await seed(store);
        expect(ids(await store.listLeads({ q: "acme" }))).toEqual([acmeEu.leadId, acme.leadId]);
        expect(ids(await store.listLeads({ q: "ACME europe" }))).toEqual([acmeEu.leadId]);
        expect(ids(await store.listLeads({ q: "Jane@Acme.com" }))).toEqual([acme.leadId]);
        expect(ids(await store.listLeads({ q: "globex.io" }))).toEqual([globex.leadId]);
        expect(ids(await store.listLeads({ q: "initech" }))).toEqual([]);
        expect((await mustGet(store, acme.leadId)).facets).toMatchObject({ company: "Acme Corp" });

        // A run's facets replace intake's: the owner and path become searchable, stale terms go.
        await store.markCompleted(
          acme.leadId,
          { owner: "noah.williams" },
          {
            email: "jane@acme.com",
            company: "Acme Corporation",
            domain: "acme.com",
            ownerId: "noah.williams",
            path: "qualified",
          },
        );
        expect(ids(await store.listLeads({ q: "noah.williams" }))).toEqual([acme.leadId]);
        expect(ids(await store.listLeads({ q: "corp" }))).toEqual([]);
        expect(ids(await store.listLeads({ q: "corporation" }))).toEqual([acme.leadId]);
        // Terms the new facets keep still match; the channel they dropped no longer does.
        expect(ids(await store.listLeads({ q: "jane@acme.com" }))).toEqual([acme.leadId]);
        expect(ids(await store.listLeads({ channel: "web" }))).not.toContain(acme.leadId);
        expect(ids(await store.listLeads({ ownerId: "noah.williams", status: "completed" }))).toEqual([
          acme.leadId,
        ]);
        expect(ids(await store.listLeads({ ownerId: "noah.williams", status: "queued" }))).toEqual([]);
        expect((await mustGet(store, acme.leadId)).facets.ownerId).toBe("noah.williams");
        // Facets survive a status change that does not carry any.
        await store.markQueued(acme.leadId);
        expect(ids(await store.listLeads({ path: "qualified" }))).toEqual([acme.leadId]);
      });

      it("filters by path, source, channel and dates, and pages through a search", async () => {
        const { store } = await open();
        const { acme, globex, acmeEu, at } = await seed(store);
        await store.markFailed(globex.leadId, { message: "boom" }, { ...globex.facets, path: "review" });
        expect(ids(await store.listLeads({ path: "review" }))).toEqual([globex.leadId]);
        expect(ids(await store.listLeads({ source: "hubspot-workflow" }))).toEqual([globex.leadId]);
        expect(ids(await store.listLeads({ channel: "web" }))).toEqual([acmeEu.leadId, acme.leadId]);
        expect(ids(await store.listLeads({ from: at(2), to: at(3) }))).toEqual([globex.leadId]);
        expect(ids(await store.listLeads({ q: "acme", from: at(2) }))).toEqual([acmeEu.leadId]);
        expect(ids(await store.listLeads({ status: "failed", to: at(3) }))).toEqual([globex.leadId]);

        const first = await store.listLeads({ q: "acme", limit: 1 });
        expect(ids(first)).toEqual([acmeEu.leadId]);
        expect(first.nextCursor).toBeDefined();
        const second = await store.listLeads({ q: "acme", limit: 1, cursor: first.nextCursor });
        expect(ids(second)).toEqual([acme.leadId]);
        expect(second.nextCursor).toBeUndefined();
      });
    });

    describe("retention", () => {
      it("lists completed leads by when they last changed and deletes only what qualifies, with its keys", async () => {
        const { store } = await open();
        const done = newLead({
          idempotencyKey: "idem-done",
          facets: { email: "gone@example.com", company: "Gone Ltd" },
        });
        const failed = newLead();
        const queued = newLead();
        for (const lead of [done, failed, queued]) await store.createLead(lead);
        expect(await store.claimIdempotencyKey("idem-done", done.leadId)).toEqual({ claimed: true });
        await store.markRunning(done.leadId);
        await store.appendTimeline(done.leadId, {
          node: "capture",
          startedAt: new Date().toISOString(),
          status: "ok",
        });
        await store.ledger.once(`${done.leadId}:notify`, async () => "posted");
        await store.markCompleted(
          done.leadId,
          { owner: "ada" },
          { email: "gone@example.com", company: "Gone Ltd" },
        );
        await store.markFailed(failed.leadId, { message: "boom" });
        const past = new Date(Date.now() - 60_000).toISOString();
        const future = new Date(Date.now() + 60_000).toISOString();

        expect(await store.expiredLeads(past, 10)).toEqual([]);
        expect(await store.expiredLeads(future, 10)).toEqual([done.leadId]);
        // Too recent, or not a status the caller allows: kept.
        expect(await store.deleteLead(done.leadId, { statuses: ["completed"], updatedBefore: past })).toBe(
          false,
        );
        expect(await store.deleteLead(queued.leadId, { statuses: ["completed", "failed"] })).toBe(false);
        expect(await store.deleteLead(failed.leadId, { statuses: ["completed"] })).toBe(false);
        expect(await store.getLead(done.leadId)).not.toBeNull();

        expect(await store.deleteLead(done.leadId, { statuses: ["completed"], updatedBefore: future })).toBe(
          true,
        );
        expect(await store.getLead(done.leadId)).toBeNull();
        expect(await store.ledger.get(`${done.leadId}:notify`)).toBeUndefined();
        expect((await store.listLeads({ q: "gone@example.com" })).leads).toEqual([]);
        expect((await store.listLeads({ q: "gone" })).leads).toEqual([]);
        expect((await store.countByStatus()).completed).toBe(0);
        // The idempotency key went with its lead: a new delivery may claim it.
        expect(await store.claimIdempotencyKey("idem-done", "another")).toEqual({ claimed: true });
        expect(await store.deleteLead(done.leadId, { statuses: ["completed"] })).toBe(false);

        expect(await store.deleteLead(failed.leadId, { statuses: ["completed", "failed"] })).toBe(true);
        expect((await store.listLeads({})).leads.map((l) => l.leadId)).toEqual([queued.leadId]);
      });

      it("forgets the person's route only while it names the deleted lead", async () => {
        const { store } = await open();
        const lead = newLead({ facets: { email: "returning@example.com" } });
        await store.createLead(lead);
        await store.markCompleted(lead.leadId, {});
        const { personKey } = await import("../domain/routing/sticky.ts");
        const person = personKey("returning@example.com");
        await store.routeMemory.remember(
          person,
          { ownerId: "ada", leadId: "a-later-lead", routedAt: new Date().toISOString() },
          3600,
        );
        expect(await store.deleteLead(lead.leadId, { statuses: ["completed"] })).toBe(true);
        expect(await store.routeMemory.recall(person)).toMatchObject({ leadId: "a-later-lead" });

        const second = newLead({ facets: { email: "returning@example.com" } });
        await store.createLead(second);
        await store.markCompleted(second.leadId, {});
        await store.routeMemory.remember(
          person,
          { ownerId: "ada", leadId: second.leadId, routedAt: new Date().toISOString() },
          3600,
        );
        expect(await store.deleteLead(second.leadId, { statuses: ["completed"] })).toBe(true);
        expect(await store.routeMemory.recall(person)).toBeUndefined();
      });
    });

    describe("readiness", () => {
      it("pings true while open and false once closed", async () => {
        const { store } = await open();
        expect(await store.ping()).toBe(true);
        await store.close();
        expect(await store.ping()).toBe(false);
      });
    });
  });
}
