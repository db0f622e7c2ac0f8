/**
 * The owner loop end to end in both profiles (docs/architecture.md, "The owner loop"): a delivered lead waits
 * in LangGraph's interrupt() for its owner; accept, decline (wrong territory → re-routed) and reassign resume
 * it through the queue; a double click decides once; the outbox records each message and its updates.
 */
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OwnerAction } from "../domain/ownership.ts";
import { sampleLead, startService, type TestService, waitForStatus } from "./helpers/app.ts";
import { outboxMessagesFor } from "./helpers/outbox.ts";
import { outboxRows, outboxUpdates } from "./helpers/owner-loop.ts";
import { PROFILES, postJson, profileEnv } from "./helpers/profiles.ts";
import { startRedis, type TestRedis } from "./helpers/redis-server.ts";

const TOKEN = "owner-loop-token-0123456789abcdef";
const auth = { authorization: `Bearer ${TOKEN}` };

let redis: TestRedis | undefined;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe.each(PROFILES)("owner loop, %s profile", (profile) => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService({ ...profileEnv(profile, redis, 3), ADMIN_TOKENS: TOKEN });
  });
  afterAll(async () => {
    await service.close();
  });

  async function delivered(sample: string): Promise<string> {
    const payload = {
      ...sampleLead(sample),
      email: `${profile}-${sample}-${Math.random().toString(36).slice(2)}@${String(sampleLead(sample).email).split("@")[1]}`,
    };
    const res = await postJson(service, payload);
    expect(res.statusCode).toBe(202);
    const { leadId } = res.json() as { leadId: string };
    await waitForStatus(service.runtime.store, leadId, ["awaiting", "failed"]);
    return leadId;
  }

  async function act(leadId: string, action: Omit<OwnerAction, "via">) {
    return service.runtime.service.act(leadId, { ...action, via: "admin" });
  }

  it("waits for the owner, and Accept completes the lead with the message updated in place", async () => {
    const leadId = await delivered("L010");
    const waiting = await service.runtime.service.getLead(leadId);
    expect(waiting).toMatchObject({
      status: "awaiting",
      result: { ownership: { ownerId: "ethan.brooks", status: "awaiting", round: 0, handoffs: [] } },
    });
    expect(await act(leadId, { action: "accept", by: "ethan" })).toEqual({ ok: true, queued: true });
    const done = await waitForStatus(service.runtime.store, leadId, ["completed", "failed"]);
    expect(done.result).toMatchObject({
      ownership: { ownerId: "ethan.brooks", status: "accepted", decidedBy: "ethan", handoffs: [] },
    });
    expect(done.timeline.map((t) => t.node)).toContain("applyDecision");
    const rows = outboxRows(service.dataDir, leadId);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.updates).toBeGreaterThanOrEqual(1);
    expect(rows[0]?.text).toMatch(/Accepted by ethan/);
    // The outbox keeps the update itself, not only the latest text.
    expect(outboxUpdates(service.dataDir, leadId).map((u) => u.text)).toEqual([
      expect.stringMatching(/Accepted by ethan/),
    ]);
    // Decided: a second action changes nothing.
    expect(await act(leadId, { action: "decline", by: "ethan", reason: "spam" })).toMatchObject({
      ok: false,
      code: "not_awaiting",
    });
  });

  it("a declined lead (wrong territory) is re-routed past the decliner, who sees the outcome", async () => {
    const leadId = await delivered("L010");
    expect(await act(leadId, { action: "decline", by: "ethan", reason: "wrong_territory" })).toMatchObject({
      ok: true,
    });
    const next = await waitForStatus(
      service.runtime.store,
      leadId,
      ["awaiting", "completed", "failed"],
      20_000,
    );
    await waitForRound(leadId, 1);
    const lead = await service.runtime.service.getLead(leadId);
    const ownership = lead?.result?.ownership as {
      ownerId: string;
      handoffs: Array<Record<string, unknown>>;
    };
    expect(next.status).not.toBe("failed");
    expect(ownership.ownerId).not.toBe("ethan.brooks");
    expect(ownership.handoffs).toMatchObject([
      { from: "ethan.brooks", kind: "decline", reason: "wrong_territory" },
    ]);
    expect(lead?.result?.explanation).toEqual(
      expect.arrayContaining([expect.stringContaining("hand-off 1: declined (wrong_territory)")]),
    );
    // Two messages: the decliner's (updated with the outcome) and the new owner's.
    expect(outboxMessagesFor(service.dataDir, leadId)).toBe(2);
  });

  it("Reassign hands a pool lead to the next member who has not had it; a double click decides once", async () => {
    const leadId = await delivered("L025");
    const first = (await service.runtime.service.getLead(leadId))?.result?.ownership as { ownerId: string };
    const [a, b] = await Promise.all([
      act(leadId, { action: "reassign", by: "maya" }),
      act(leadId, { action: "reassign", by: "maya" }),
    ]);
    expect(a).toMatchObject({ ok: true });
    expect(b).toMatchObject({ ok: true });
    await waitForRound(leadId, 1);
    const lead = await service.runtime.service.getLead(leadId);
    const ownership = lead?.result?.ownership as {
      ownerId: string;
      handoffs: Array<Record<string, unknown>>;
      round: number;
    };
    expect(ownership.handoffs).toHaveLength(1);
    expect(ownership.handoffs[0]).toMatchObject({ from: first.ownerId, kind: "reassign", by: "maya" });
    expect(ownership.ownerId).not.toBe(first.ownerId);
    expect(outboxMessagesFor(service.dataDir, leadId)).toBe(2);
    // The new owner accepts.
    expect(await act(leadId, { action: "accept", by: ownership.ownerId })).toMatchObject({ ok: true });
    const done = await waitForStatus(service.runtime.store, leadId, ["completed", "failed"]);
    expect(done.result).toMatchObject({ ownership: { status: "accepted", ownerId: ownership.ownerId } });
  });

  it("POST /admin/leads/:id/actions: 202 queued, then 409 once decided, 404 and 422 naming the field; listed in OpenAPI", async () => {
    const leadId = await delivered("L012");
    const post = (id: string, body: unknown) =>
      service.app.inject({
        method: "POST",
        url: `/admin/leads/${id}/actions`,
        headers: auth,
        payload: body as object,
      });
    const bad = await post(leadId, { action: "decline", by: "jonas" });
    expect(bad.statusCode).toBe(422);
    expect(bad.json()).toMatchObject({ error: "invalid_action", field: "reason" });
    expect((await post(leadId, { action: "fly" })).statusCode).toBe(400);
    expect((await post(leadId, { action: "approve", by: "x" })).json()).toMatchObject({ field: "action" });
    expect((await post("no-such-lead", { action: "accept" })).statusCode).toBe(404);
    const viewed = await service.app.inject({ method: "GET", url: `/admin/leads/${leadId}`, headers: auth });
    expect(viewed.json()).toMatchObject({
      status: "awaiting",
      ownership: { ownerId: "jonas.weber", status: "awaiting", round: 0, waitingFor: "owner" },
    });
    const ok = await post(leadId, { action: "accept", by: "jonas" });
    expect(ok.statusCode).toBe(202);
    expect(ok.json()).toEqual({ leadId, action: "accept", status: "queued" });
    await waitForStatus(service.runtime.store, leadId, ["completed", "failed"]);
    const again = await post(leadId, { action: "accept", by: "jonas" });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({
      error: "not_awaiting",
      message: expect.stringContaining("accepted by jonas"),
    });
    const after = await service.app.inject({ method: "GET", url: `/admin/leads/${leadId}`, headers: auth });
    expect(after.json()).toMatchObject({
      status: "completed",
      ownership: { status: "accepted", decidedBy: "jonas" },
    });
    const doc = (await service.app.inject({ method: "GET", url: "/openapi.json" })).json() as {
      paths: Record<
        string,
        {
          post?: {
            requestBody?: {
              content?: Record<string, { schema?: { properties?: { action?: { enum?: string[] } } } }>;
            };
          };
        }
      >;
    };
    const schema =
      doc.paths["/admin/leads/{id}/actions"]?.post?.requestBody?.content?.["application/json"]?.schema;
    expect(schema?.properties?.action?.enum).toEqual([
      "accept",
      "reassign",
      "decline",
      "approve",
      "route",
      "nurture",
    ]);
  });

  it("leadgraph lead accept <id> queues the action from another process", async () => {
    const leadId = await delivered("L012");
    const cli = spawnSync(process.execPath, ["cli.ts", "lead", "accept", leadId, "--by", "jonas-cli"], {
      env: cliEnv(),
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(cli.stderr).toBe("");
    expect(cli.stdout).toContain(`accept queued for lead ${leadId}`);
    expect(cli.status).toBe(0);
    const done = await waitForStatus(service.runtime.store, leadId, ["completed", "failed"]);
    expect(done.result).toMatchObject({ ownership: { status: "accepted", decidedBy: "jonas-cli" } });
    const refused = spawnSync(process.execPath, ["cli.ts", "lead", "decline", leadId, "--reason", "spam"], {
      env: cliEnv(),
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("not_awaiting");
  });

  it("a grey-zone lead waits for review in the review channel; Approve hands it to the routed owner", async () => {
    const leadId = await delivered("L014");
    const review = (await service.runtime.service.getLead(leadId))?.result?.ownership;
    expect(review).toMatchObject({ status: "awaiting", waitingFor: "review", ownerId: null, round: 0 });
    const rows = outboxRows(service.dataDir, leadId);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.channel).toBe("#lead-review");
    // An owner's action does not fit a review.
    expect(await act(leadId, { action: "accept", by: "x" })).toMatchObject({
      ok: false,
      code: "invalid",
      field: "action",
    });
    expect(await act(leadId, { action: "approve", by: "reviewer" })).toEqual({ ok: true, queued: true });
    await waitForRound(leadId, 1);
    const lead = await service.runtime.service.getLead(leadId);
    expect(lead?.result).toMatchObject({
      path: "qualified",
      ownership: {
        ownerId: "daniel.cohen",
        waitingFor: "owner",
        handoffs: [{ from: "review", to: "daniel.cohen", kind: "review", by: "reviewer", reason: "approve" }],
      },
    });
    // The review message shows the decision; the owner got their own message.
    const after = outboxRows(service.dataDir, leadId);
    expect(after).toHaveLength(2);
    expect(after[0]?.updates).toBeGreaterThanOrEqual(1);
    expect(after[0]?.text).toMatch(/Approved by reviewer/);
    expect(await act(leadId, { action: "accept", by: "daniel" })).toMatchObject({ ok: true });
    const done = await waitForStatus(service.runtime.store, leadId, ["completed", "failed"]);
    expect(done.result).toMatchObject({ ownership: { status: "accepted", ownerId: "daniel.cohen" } });
  });

  it("a review can route the lead to someone else, or send it to nurture", async () => {
    const routed = await delivered("L020");
    expect(await act(routed, { action: "route", by: "reviewer", to: "grace.kim" })).toMatchObject({
      ok: true,
    });
    await waitForRound(routed, 1);
    const lead = await service.runtime.service.getLead(routed);
    expect(lead?.result).toMatchObject({ ownerId: "grace.kim", ownership: { ownerId: "grace.kim" } });
    expect(lead?.result?.explanation).toEqual(
      expect.arrayContaining([expect.stringContaining("review: routed to grace.kim by reviewer")]),
    );
    const nurtured = await delivered("L022");
    expect(await act(nurtured, { action: "nurture", by: "reviewer" })).toMatchObject({ ok: true });
    const done = await waitForStatus(service.runtime.store, nurtured, ["completed", "failed"]);
    expect(done.result).toMatchObject({
      path: "nurture",
      ownership: { status: "declined", decidedBy: "reviewer" },
    });
    expect(done.timeline.map((t) => t.node)).toContain("nurtureLead");
  });

  it("counts time to accept, hand-offs and SLA-free decisions in /metrics and the acceptance report", async () => {
    const leadId = await delivered("L011");
    expect(await act(leadId, { action: "accept", by: "ethan" })).toMatchObject({ ok: true });
    await waitForStatus(service.runtime.store, leadId, ["completed", "failed"]);
    const metrics = (await service.app.inject("/metrics")).body;
    expect(metrics).toMatch(/leadgraph_time_to_accept_seconds_count\{owner="ethan.brooks"\} [1-9]/);
    expect(metrics).toMatch(/leadgraph_reassignments_total\{kind="reassign"\} [1-9]/);
    const report = await service.runtime.service.reports(1);
    expect(report.acceptance.available).toBe(true);
    expect(report.acceptance.accepted).toBeGreaterThanOrEqual(2);
    expect(report.acceptance.byOwner.find((o) => o.ownerId === "ethan.brooks")).toMatchObject({
      accepted: expect.any(Number),
      p50Ms: expect.any(Number),
      p90Ms: expect.any(Number),
    });
  });

  /** The CLI's environment: the service's DATA_DIR and, in the Redis profile, its Redis. */
  function cliEnv(): NodeJS.ProcessEnv {
    const { REDIS_URL: _ignored, ...rest } = process.env;
    return {
      ...rest,
      DATA_DIR: service.dataDir,
      LOG_LEVEL: "silent",
      ...(service.env.REDIS_URL ? { REDIS_URL: service.env.REDIS_URL } : {}),
    };
  }

  /** Waits (bounded) until the lead waits in `round`. */
  async function waitForRound(leadId: string, round: number): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const lead = await service.runtime.store.getLead(leadId);
      const own = lead?.result?.ownership as { round?: number } | undefined;
      if (lead?.status === "awaiting" && own?.round === round) return;
      if (lead?.status === "failed") throw new Error(`lead failed: ${lead.lastError?.message}`);
      if (Date.now() > deadline)
        throw new Error(`lead ${leadId} never waited in round ${round}: ${lead?.status}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
});
