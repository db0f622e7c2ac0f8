/**
 * The owner loop's contract: which actions fit a waiting lead (domain/ownership.ts), and LeadService.act's
 * answers (not found, not awaiting, invalid, queued) without a worker, so nothing resumes behind the test.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkAction, type OwnerAction } from "../domain/ownership.ts";
import { startService, type TestService } from "./helpers/app.ts";

const TOKEN = "owner-actions-token-0123456789";

describe("checkAction", () => {
  const base: OwnerAction = { action: "accept", by: "U123", via: "slack" };

  it("takes an owner's action on an owner's wait and a reviewer's on a review, naming the wrong field", () => {
    expect(checkAction(base, "owner")).toEqual({ ok: true, action: base });
    expect(checkAction(base, "review")).toMatchObject({ ok: false, field: "action" });
    expect(checkAction({ ...base, action: "approve" }, "review")).toMatchObject({ ok: true });
    expect(checkAction({ ...base, action: "decline" }, "owner")).toMatchObject({
      ok: false,
      field: "reason",
    });
    expect(checkAction({ ...base, action: "decline", reason: "bored" }, "owner")).toMatchObject({
      ok: false,
      field: "reason",
    });
    expect(checkAction({ ...base, action: "decline", reason: "spam" }, "owner")).toMatchObject({ ok: true });
    expect(checkAction({ ...base, action: "route" }, "review")).toMatchObject({ ok: false, field: "to" });
    expect(checkAction({ ...base, by: " " }, "owner")).toMatchObject({ ok: false, field: "by" });
    expect(checkAction({ ...base, action: "nope" as "accept" }, "owner")).toMatchObject({
      ok: false,
      field: "action",
    });
    expect(checkAction({ ...base, via: "fax" as "slack" }, "owner")).toMatchObject({
      ok: false,
      field: "via",
    });
  });
});

describe("LeadService.act", () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService({ ADMIN_TOKENS: TOKEN }, { worker: false });
  });
  afterAll(async () => {
    await service.close();
  });

  async function storedLead(status: "queued" | "awaiting", round = 0): Promise<string> {
    const leadId = randomUUID();
    const { store } = service.runtime;
    await store.createLead({ leadId, receivedAt: new Date().toISOString(), payload: {} });
    if (status === "awaiting")
      await store.markAwaiting(leadId, {
        ownership: { ownerId: "ana", status: "awaiting", handoffs: [], round, waitingFor: "owner" },
      });
    return leadId;
  }

  it("answers not_found, not_awaiting and invalid, and queues one resume per wait", async () => {
    const { service: leads } = service.runtime;
    const accept: OwnerAction = { action: "accept", by: "U1", via: "slack" };
    expect(await leads.act(randomUUID(), accept)).toMatchObject({ ok: false, code: "not_found" });
    expect(await leads.act(await storedLead("queued"), accept)).toMatchObject({
      ok: false,
      code: "not_awaiting",
      message: expect.stringContaining("queued"),
    });
    const leadId = await storedLead("awaiting", 2);
    expect(await leads.act(leadId, { ...accept, action: "approve" })).toMatchObject({
      ok: false,
      code: "invalid",
      field: "action",
    });
    expect(await leads.act(leadId, { ...accept, action: "reassign", to: "nobody-here" })).toMatchObject({
      ok: false,
      code: "invalid",
      field: "to",
    });
    const depth = await service.runtime.queue.depth();
    expect(await leads.act(leadId, accept)).toEqual({ ok: true, queued: true });
    // A double click: still answered queued, and still one job for the wait.
    expect(await leads.act(leadId, accept)).toEqual({ ok: true, queued: true });
    expect(await service.runtime.queue.depth()).toBe(depth + 1);
  });

  it("refuses an admin retry of an awaiting lead with 409 naming why", async () => {
    const leadId = await storedLead("awaiting");
    const res = await service.app.inject({
      method: "POST",
      url: `/admin/leads/${leadId}/retry`,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ error: "awaiting", message: expect.stringContaining("actions") });
  });
});
