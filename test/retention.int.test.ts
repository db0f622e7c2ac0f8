/**
 * Retention, both profiles, on a clock the test moves: a completed lead past RETENTION_COMPLETED_DAYS is
 * deleted by the runtime's own periodic sweep with everything kept for it (no trace of its id in the SQLite
 * file or the Redis database but the CRM contact, which is the CRM's); failed and unfinished leads stay,
 * and an admin may delete a finished lead (a failed one is "handled" so) but not an unfinished one.
 */
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATABASE_FILE } from "../app/runtime.ts";
import type { GraphDeps } from "../nodes/deps.ts";
import { QUALIFIED_LEAD, sampleLead, startService, type TestService, waitForStatus } from "./helpers/app.ts";
import { redisFootprint, sqliteFootprint } from "./helpers/footprint.ts";
import { crmContactsFor } from "./helpers/outbox.ts";
import { PROFILES, profileEnv } from "./helpers/profiles.ts";
import { startRedis, type TestRedis } from "./helpers/redis-server.ts";

const TOKEN = "admin-token-0123456789abcdef";
const auth = { authorization: `Bearer ${TOKEN}` };
const DAY_MS = 86_400_000;
// BullMQ's own bounded log of job moves (about 100 entries) names job ids; it is not the lead's data.
const BULL_EVENTS = /:bull:leads(-bulk)?:events$/;

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe.each(PROFILES.map((profile, i) => ({ profile, db: i + 1 })))(
  "$profile profile: retention",
  ({ profile, db }) => {
    let service: TestService;
    let offsetMs = 0;
    const notifier = { failing: false };

    beforeAll(async () => {
      service = await startService(
        { ...profileEnv(profile, redis, db), ADMIN_TOKENS: TOKEN, RETENTION_COMPLETED_DAYS: "90" },
        {
          clock: () => new Date(Date.now() + offsetMs),
          retentionIntervalMs: 100,
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
      await service?.close();
    });

    const file = () => join(service.dataDir, DATABASE_FILE);
    /** Every place the lead's id is still found; the CRM's contacts are kept on purpose. */
    async function footprint(leadId: string, options: { events?: boolean } = {}): Promise<string[]> {
      const events = options.events ?? true;
      const local = sqliteFootprint(file(), leadId, ["crm_contacts", ...(events ? [] : ["events"])]);
      if (profile === "embedded") return local;
      const ignore = events ? BULL_EVENTS : new RegExp(`${BULL_EVENTS.source}|^lg:events$`);
      return [...local, ...(await redisFootprint(`${redis.url}/${db}`, leadId, ignore))];
    }

    async function post(email: string): Promise<string> {
      const res = await service.app.inject({
        method: "POST",
        url: "/webhooks/lead",
        payload: { ...sampleLead(QUALIFIED_LEAD), email },
      });
      expect(res.statusCode).toBe(202);
      return res.json<{ leadId: string }>().leadId;
    }

    it("deletes a completed lead past the window with all kept for it; keeps failed and unfinished leads", async () => {
      const { store } = service.runtime;
      const completed = await post("kept.briefly@bramblewick.com");
      // Delivered, it waits for its owner (never deleted while it waits); the owner's Accept completes it.
      expect((await waitForStatus(store, completed, ["awaiting", "failed"])).status).toBe("awaiting");
      await service.runtime.service.act(completed, { action: "accept", by: "noah", via: "admin" });
      expect((await waitForStatus(store, completed, ["completed", "failed"])).status).toBe("completed");
      notifier.failing = true;
      const failed = await post("not.delivered@bramblewick.com");
      expect((await waitForStatus(store, failed, ["completed", "failed"])).status).toBe("failed");
      notifier.failing = false;
      await service.runtime.queue.pause();
      const queued = await post("still.waiting@bramblewick.com");
      await service.runtime.events.flush();

      // What the sweep must remove is there to begin with: the check can fail.
      const before = await footprint(completed);
      expect(before.length).toBeGreaterThan(3);
      expect(crmContactsFor(service.dataDir, completed)).toBe(1);

      // 89 days on, nothing goes.
      offsetMs = 89 * DAY_MS;
      await sleep(400);
      expect(await store.getLead(completed)).not.toBeNull();

      offsetMs = 91 * DAY_MS;
      const deadline = Date.now() + 20_000;
      while ((await store.getLead(completed)) !== null && Date.now() < deadline) await sleep(50);
      expect(await store.getLead(completed)).toBeNull();
      await service.runtime.retention.sweep();
      expect(await footprint(completed)).toEqual([]);
      // The CRM keeps its contact: CRM data about a person, not the lead's record.
      expect(crmContactsFor(service.dataDir, completed)).toBe(1);
      expect((await store.listLeads({ q: "kept.briefly@bramblewick.com" })).leads).toEqual([]);

      const stillFailed = await store.getLead(failed);
      expect(stillFailed?.status).toBe("failed");
      expect(stillFailed?.timeline.length).toBeGreaterThan(0);
      expect(
        await service.runtime.checkpointer.getTuple({ configurable: { thread_id: failed } }),
      ).toBeDefined();
      expect((await store.getLead(queued))?.status).toBe("queued");
      expect((await store.listLeads({ q: "not.delivered@bramblewick.com" })).leads).toHaveLength(1);
      // Back to today before the queued lead runs, or the next sweep would take it once it completes.
      offsetMs = 0;
      await service.runtime.queue.resume();
      await waitForStatus(store, queued, ["awaiting", "completed", "failed"]);
    });

    it("an admin deletes a failed lead (handled), not an unfinished one", async () => {
      const { store } = service.runtime;
      notifier.failing = true;
      const failed = await post("admin.deletes@bramblewick.com");
      expect((await waitForStatus(store, failed, ["completed", "failed"])).status).toBe("failed");
      notifier.failing = false;
      await service.runtime.queue.pause();
      const queued = await post("admin.cannot@bramblewick.com");
      try {
        const refused = await service.app.inject({
          method: "DELETE",
          url: `/admin/leads/${queued}`,
          headers: auth,
        });
        expect(refused.statusCode).toBe(409);
        expect(refused.json()).toMatchObject({ error: "unfinished" });
        expect(await store.getLead(queued)).not.toBeNull();

        expect((await footprint(failed)).length).toBeGreaterThan(3);
        const res = await service.app.inject({
          method: "DELETE",
          url: `/admin/leads/${failed}`,
          headers: auth,
        });
        expect(res.statusCode).toBe(204);
        expect(await store.getLead(failed)).toBeNull();
        // The live event log is a feed, not the lead's record: it keeps the newest EVENTS_KEEP events and
        // loses them past the retention window (the first test), whoever deleted the lead.
        expect(await footprint(failed, { events: false })).toEqual([]);
        const again = await service.app.inject({
          method: "DELETE",
          url: `/admin/leads/${failed}`,
          headers: auth,
        });
        expect(again.statusCode).toBe(404);
        // A new delivery of the same person is a new lead (its idempotency key went with the old one).
        const fresh = await post("admin.deletes@bramblewick.com");
        expect(fresh).not.toBe(failed);
      } finally {
        await service.runtime.queue.resume();
      }
    });

    it("POST /admin/retention/sweep runs a sweep and reports it", async () => {
      const res = await service.app.inject({ method: "POST", url: "/admin/retention/sweep", headers: auth });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ deleted: 0, before: expect.any(String) });
    });
  },
);
