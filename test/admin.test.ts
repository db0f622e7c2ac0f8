/**
 * The admin API on the embedded profile: bearer auth, lead lookup and listing, retry from the failed node
 * (earlier nodes are not run again), and a routing preview that moves no counter.
 */

import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATABASE_FILE } from "../app/runtime.ts";
import type { GraphDeps } from "../nodes/deps.ts";
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

describe("admin API", () => {
  let service: TestService;
  /** node → calls, per lead */
  const nodeCalls = new Map<string, Map<string, number>>();
  const notifier = { failing: false, sent: 0 };

  function callsOf(leadId: string): Record<string, number> {
    return Object.fromEntries(nodeCalls.get(leadId) ?? []);
  }

  beforeAll(async () => {
    service = await startService(
      { ADMIN_TOKENS: `${TOKEN},second-token-0123456789` },
      {
        hooks: {
          onNodeStart(leadId, node) {
            const calls = nodeCalls.get(leadId) ?? new Map<string, number>();
            calls.set(node, (calls.get(node) ?? 0) + 1);
            nodeCalls.set(leadId, calls);
          },
        },
        overrideDeps: (deps: GraphDeps): GraphDeps => ({
          ...deps,
          notifier: {
            name: "flaky",
            findPosted: (message, after) => deps.notifier.findPosted(message, after),
            async send(message, previous) {
              if (notifier.failing) throw new Error("slack_webhook_error: channel_not_found");
              notifier.sent += 1;
              return deps.notifier.send(message, previous);
            },
          },
        }),
      },
    );
  });
  afterAll(async () => {
    await service.close();
  });

  async function ingest(payload: Record<string, unknown>): Promise<string> {
    const res = await service.app.inject({ method: "POST", url: "/webhooks/lead", payload });
    expect(res.statusCode).toBe(202);
    return res.json<{ leadId: string }>().leadId;
  }

  it("needs a configured bearer token", async () => {
    expect((await service.app.inject({ url: "/admin/leads" })).statusCode).toBe(401);
    const wrong = await service.app.inject({
      url: "/admin/leads",
      headers: { authorization: "Bearer nope-nope-nope-nope" },
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toMatchObject({ error: "unauthorized", field: "authorization" });
    expect(wrong.headers["www-authenticate"]).toContain("Bearer");
    const basic = await service.app.inject({
      url: "/admin/leads",
      headers: { authorization: `Basic ${TOKEN}` },
    });
    expect(basic.statusCode).toBe(401);
    expect((await service.app.inject({ url: "/admin/leads", headers: auth })).statusCode).toBe(200);
    const second = await service.app.inject({
      url: "/admin/leads",
      headers: { authorization: "Bearer second-token-0123456789" },
    });
    expect(second.statusCode).toBe(200);
  });

  it("shows a delivered lead: status, score and reasons, owner and explanation, timeline, ownership", async () => {
    const leadId = await ingest(sampleLead(QUALIFIED_LEAD));
    await waitForStatus(service.runtime.store, leadId, DELIVERED);
    const res = await service.app.inject({ url: `/admin/leads/${leadId}`, headers: auth });
    expect(res.statusCode).toBe(200);
    const lead = res.json();
    expect(lead).toMatchObject({ leadId, status: "awaiting", attempts: 1, source: "generic" });
    expect(lead.ownership).toMatchObject({ ownerId: "noah.williams", status: "awaiting", handoffs: [] });
    expect(lead.result).toMatchObject({ tier: "hot", owner: "noah.williams", path: "qualified" });
    expect(lead.result.reasons.length).toBeGreaterThan(0);
    expect(lead.result.explanation.length).toBeGreaterThan(0);
    expect(lead.timeline).toHaveLength(7);
    expect(lead.payload).toBeUndefined();

    // Running a delivered lead that waits for its owner again is a no-op: no node runs.
    const callsBefore = callsOf(leadId);
    expect(await service.runtime.runner.run(leadId)).toBe("awaiting");
    expect(callsOf(leadId)).toEqual(callsBefore);

    const missing = await service.app.inject({ url: "/admin/leads/no-such-lead", headers: auth });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: "lead_not_found", field: "id" });
  });

  it("lists leads newest first, by status, page by page", async () => {
    for (let i = 0; i < 5; i++)
      await ingest({
        ...sampleLead(QUALIFIED_LEAD),
        email: `page${i}@bramblewick.com`,
        campaign: `page-${i}`,
      });
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await service.app.inject({
        url: `/admin/leads?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        headers: auth,
      });
      expect(res.statusCode).toBe(200);
      const page = res.json<{ leads: Array<{ leadId: string; receivedAt: string }>; nextCursor?: string }>();
      expect(page.leads.length).toBeLessThanOrEqual(2);
      seen.push(...page.leads.map((l) => l.leadId));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor);
    const all = await service.runtime.store.listLeads({ limit: 500 });
    expect(seen).toEqual(all.leads.map((l) => l.leadId));
    expect(new Set(seen).size).toBe(seen.length);
    expect(pages).toBeGreaterThanOrEqual(Math.ceil(seen.length / 2));

    const queuedOrDone = await service.app.inject({
      url: "/admin/leads?status=completed&limit=500",
      headers: auth,
    });
    expect(queuedOrDone.json().leads.every((l: { status: string }) => l.status === "completed")).toBe(true);

    const badCursor = await service.app.inject({ url: "/admin/leads?cursor=bogus", headers: auth });
    expect(badCursor.statusCode).toBe(400);
    expect(badCursor.json()).toMatchObject({ error: "invalid_cursor", field: "cursor" });
    const badLimit = await service.app.inject({ url: "/admin/leads?limit=0", headers: auth });
    expect(badLimit.statusCode).toBe(400);
    expect(badLimit.json().field).toBe("limit");
    const badStatus = await service.app.inject({ url: "/admin/leads?status=lost", headers: auth });
    expect(badStatus.statusCode).toBe(400);
    expect(badStatus.json().field).toBe("status");
  });

  it("a notifyOwner failure marks the lead failed; retry resumes at notifyOwner and completes", async () => {
    notifier.failing = true;
    const leadId = await ingest({ ...sampleLead(QUALIFIED_LEAD), email: "flaky.slack@bramblewick.com" });
    const failed = await waitForStatus(service.runtime.store, leadId, ["failed", ...DELIVERED]);
    expect(failed.status).toBe("failed");

    const shown = (await service.app.inject({ url: `/admin/leads/${leadId}`, headers: auth })).json();
    expect(shown.lastError).toMatchObject({
      node: "notifyOwner",
      message: expect.stringContaining("channel_not_found"),
    });
    expect(shown.timeline.at(-1)).toMatchObject({ node: "notifyOwner", status: "error" });
    expect(callsOf(leadId)).toEqual({
      capture: 1,
      enrich: 1,
      scoreLead: 1,
      routeLead: 1,
      summarize: 1,
      notifyOwner: 1,
    });

    notifier.failing = false;
    const sentBefore = notifier.sent;
    const retry = await service.app.inject({
      method: "POST",
      url: `/admin/leads/${leadId}/retry`,
      headers: auth,
    });
    expect(retry.statusCode).toBe(202);
    expect(retry.json()).toEqual({ leadId, status: "queued" });
    const done = await waitForStatus(service.runtime.store, leadId, [...DELIVERED, "failed"]);
    expect(done.status).toBeOneOf(DELIVERED);
    expect(done.attempts).toBe(2);
    // Earlier nodes were not run again: the retry started at the node that failed.
    expect(callsOf(leadId)).toEqual({
      capture: 1,
      enrich: 1,
      scoreLead: 1,
      routeLead: 1,
      summarize: 1,
      notifyOwner: 2,
      syncCrm: 1,
      awaitOwner: 1,
    });
    expect(notifier.sent - sentBefore).toBe(1);
    // A completed lead shows no error; the failed attempt stays in the timeline.
    expect(done.lastError).toBeUndefined();
    const shownDone = (await service.app.inject({ url: `/admin/leads/${leadId}`, headers: auth })).json();
    expect(shownDone.lastError).toBeUndefined();
    expect(shownDone.timeline).toContainEqual(
      expect.objectContaining({
        node: "notifyOwner",
        status: "error",
        error: expect.stringContaining("channel_not_found"),
      }),
    );

    const again = await service.app.inject({
      method: "POST",
      url: `/admin/leads/${leadId}/retry`,
      headers: auth,
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().error).toBe("awaiting");
    const unknown = await service.app.inject({
      method: "POST",
      url: "/admin/leads/nope/retry",
      headers: auth,
    });
    expect(unknown.statusCode).toBe(404);
  });

  it("retries every failed lead at once", async () => {
    notifier.failing = true;
    const ids = [
      await ingest({ ...sampleLead(QUALIFIED_LEAD), email: "bulk1@bramblewick.com" }),
      await ingest({ ...sampleLead(QUALIFIED_LEAD), email: "bulk2@bramblewick.com" }),
    ];
    for (const id of ids)
      expect((await waitForStatus(service.runtime.store, id, ["failed", ...DELIVERED])).status).toBe(
        "failed",
      );
    notifier.failing = false;
    const res = await service.app.inject({ method: "POST", url: "/admin/leads/retry-failed", headers: auth });
    expect(res.statusCode).toBe(202);
    expect(res.json().leadIds).toEqual(expect.arrayContaining(ids));
    for (const id of ids)
      expect((await waitForStatus(service.runtime.store, id, DELIVERED)).status).toBe("awaiting");
    const failedNow = await service.runtime.store.listLeads({ status: "failed" });
    expect(failedNow.leads).toEqual([]);
  });

  it("previews routing without moving a round-robin counter", async () => {
    const db = new DatabaseSync(join(service.dataDir, DATABASE_FILE), { readOnly: true });
    const counters = () => db.prepare("SELECT key, value FROM counters ORDER BY key").all();
    const { counters: storeCounters } = service.runtime.store;
    const increment = storeCounters.increment;
    let increments = 0;
    storeCounters.increment = async (key, ttl) => {
      increments += 1;
      return increment(key, ttl);
    };
    try {
      const before = counters();
      const pooled = sampleLead("L025");
      const res = await service.app.inject({
        method: "POST",
        url: "/admin/routing/preview",
        headers: auth,
        payload: pooled,
      });
      expect(res.statusCode).toBe(200);
      const preview = res.json();
      expect(preview.owner).toBe("pool:na-enterprise");
      expect(preview.ownerId).toBeTruthy();
      expect(preview.rule).toBeTruthy();
      expect(preview.explanation.length).toBeGreaterThan(0);
      expect(preview.score.tier).toBeTruthy();
      expect(increments).toBe(0);
      expect(counters()).toEqual(before);

      const invalid = await service.app.inject({
        method: "POST",
        url: "/admin/routing/preview",
        headers: auth,
        payload: { company: "No Email" },
      });
      expect(invalid.statusCode).toBe(422);
      expect(invalid.json().field).toBe("email");

      let deep = '"x"';
      for (let i = 0; i < 5000; i++) deep = `[${deep}]`;
      const tooDeep = await service.app.inject({
        method: "POST",
        url: "/admin/routing/preview",
        headers: { ...auth, "content-type": "application/json" },
        payload: `{"email":"deep@bramblewick.com","extra":${deep}}`,
      });
      expect(tooDeep.statusCode).toBe(422);
      expect(tooDeep.json()).toMatchObject({
        error: "payload_limit",
        field: expect.stringMatching(/^extra\.0/),
      });

      // The same lead for real does move the pool's counter.
      const leadId = await ingest(pooled);
      await waitForStatus(service.runtime.store, leadId, DELIVERED);
      expect(increments).toBeGreaterThan(0);
      expect(counters()).not.toEqual(before);
    } finally {
      storeCounters.increment = increment;
      db.close();
    }
  });
});

describe("admin API without tokens", () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService();
  });
  afterAll(async () => {
    await service.close();
  });

  it("is closed", async () => {
    const res = await service.app.inject({ url: "/admin/leads", headers: auth });
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toBe("admin_disabled");
  });
});
