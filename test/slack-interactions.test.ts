/**
 * POST /slack/interactions as Slack calls it: a form-encoded `payload`, signed with the signing secret. Forged,
 * stale and unsigned requests are refused before the payload is read; a click becomes LeadService.act's
 * action (by the Slack user, via slack) and is answered 200 at once. No worker runs: the queued resume is
 * counted, not run (test/slack-owner-loop.int.test.ts runs the whole loop).
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ACTION_IDS } from "../domain/message-actions.ts";
import { slackSignature } from "../http/signatures.ts";
import { startService, type TestService } from "./helpers/app.ts";
import { blockActions, signedInteraction } from "./helpers/slack-interactions.ts";

const SECRET = "8f742231b10e8888abcd99yyyzzz85a5";

describe("POST /slack/interactions", () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService({ SLACK_SIGNING_SECRET: SECRET }, { worker: false });
  });
  afterAll(async () => {
    await service.close();
  });

  async function awaitingLead(): Promise<string> {
    const leadId = randomUUID();
    const { store } = service.runtime;
    await store.createLead({ leadId, receivedAt: new Date().toISOString(), payload: {} });
    await store.markAwaiting(leadId, {
      ownership: { ownerId: "ethan.brooks", status: "awaiting", handoffs: [], round: 0, waitingFor: "owner" },
    });
    return leadId;
  }

  function post(request: { body: string; headers: Record<string, string> }) {
    return service.app.inject({ method: "POST", url: "/slack/interactions", ...request });
  }

  it("refuses a forged, a stale or an unsigned request with 401, before reading the payload", async () => {
    const body = blockActions({ action_id: ACTION_IDS.accept, value: randomUUID() });
    const act = vi.spyOn(service.runtime.service, "act");
    try {
      const forged = signedInteraction("not-the-secret-at-all-0000000000", body);
      const res1 = await post(forged);
      expect(res1.statusCode).toBe(401);
      expect(res1.json()).toMatchObject({ error: "invalid_signature", field: "X-Slack-Signature" });

      const stale = signedInteraction(SECRET, body, Math.floor(Date.now() / 1000) - 6 * 60);
      const res2 = await post(stale);
      expect(res2.statusCode).toBe(401);
      expect(res2.json()).toMatchObject({ field: "X-Slack-Request-Timestamp" });

      // Signed, then tampered with: the signature covers the raw bytes.
      const good = signedInteraction(SECRET, body);
      const tampered = { ...good, body: good.body.replace("U0ANNA", "U0EVIL") };
      expect((await post(tampered)).statusCode).toBe(401);

      const unsigned = { body: good.body, headers: { "content-type": "application/x-www-form-urlencoded" } };
      expect((await post(unsigned)).statusCode).toBe(401);
      expect(act).not.toHaveBeenCalled();
    } finally {
      act.mockRestore();
    }
  });

  it("queues a click as the user's action and answers 200; a double click is still one resume", async () => {
    const leadId = await awaitingLead();
    const act = vi.spyOn(service.runtime.service, "act");
    try {
      const depth = await service.runtime.queue.depth();
      const click = signedInteraction(SECRET, blockActions({ action_id: ACTION_IDS.accept, value: leadId }));
      const res = await post(click);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ ok: true });
      expect(act).toHaveBeenCalledWith(leadId, { action: "accept", by: "U0ANNA", via: "slack" });
      expect((await post(click)).statusCode).toBe(200);
      expect(await service.runtime.queue.depth()).toBe(depth + 1);
    } finally {
      act.mockRestore();
    }
  });

  it("maps each button and menu to its action", async () => {
    const leadId = await awaitingLead();
    const act = vi.spyOn(service.runtime.service, "act").mockResolvedValue({ ok: true, queued: true });
    try {
      const clicks = [
        { action_id: ACTION_IDS.reassign, value: leadId },
        { action_id: ACTION_IDS.reassignTo, selected_option: { value: `${leadId}|maya.patel` } },
        { action_id: ACTION_IDS.decline, selected_option: { value: `${leadId}|wrong_territory` } },
        { action_id: ACTION_IDS.approve, value: leadId },
        { action_id: ACTION_IDS.routeTo, selected_option: { value: `${leadId}|grace.kim` } },
        { action_id: ACTION_IDS.nurture, value: leadId },
      ];
      for (const click of clicks)
        expect((await post(signedInteraction(SECRET, blockActions(click)))).statusCode).toBe(200);
      const by = { by: "U0ANNA", via: "slack" };
      expect(act.mock.calls).toEqual([
        [leadId, { action: "reassign", ...by }],
        [leadId, { action: "reassign", to: "maya.patel", ...by }],
        [leadId, { action: "decline", reason: "wrong_territory", ...by }],
        [leadId, { action: "approve", ...by }],
        [leadId, { action: "route", to: "grace.kim", ...by }],
        [leadId, { action: "nurture", ...by }],
      ]);
    } finally {
      act.mockRestore();
    }
  });

  it("answers 200 with a line for the clicker when the lead was already decided, is unknown, or the click is not ours", async () => {
    const decided = randomUUID();
    await service.runtime.store.createLead({
      leadId: decided,
      receivedAt: new Date().toISOString(),
      payload: {},
    });
    const res = await post(
      signedInteraction(SECRET, blockActions({ action_id: ACTION_IDS.accept, value: decided })),
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      ok: false,
      error: "not_awaiting",
      response_type: "ephemeral",
      text: expect.stringContaining("already decided"),
    });
    const unknown = await post(
      signedInteraction(SECRET, blockActions({ action_id: ACTION_IDS.accept, value: randomUUID() })),
    );
    expect(unknown.statusCode).toBe(200);
    expect(unknown.json()).toMatchObject({ error: "not_found" });
    const foreign = await post(
      signedInteraction(SECRET, blockActions({ action_id: "someone.else", value: "x" })),
    );
    expect(foreign.json()).toMatchObject({ error: "unknown_action" });
    // Other interaction types (a shortcut) only need Slack's 200.
    const shortcut = `payload=${encodeURIComponent(JSON.stringify({ type: "shortcut", user: { id: "U0ANNA" } }))}`;
    expect((await post(signedInteraction(SECRET, shortcut))).statusCode).toBe(200);
  });

  it("names the field of a malformed request (400), never a 5xx", async () => {
    const noPayload = await post(signedInteraction(SECRET, "token=x"));
    expect(noPayload.statusCode).toBe(400);
    expect(noPayload.json()).toMatchObject({ field: "payload" });
    const notJson = await post(signedInteraction(SECRET, "payload=%7Bnot-json"));
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json()).toMatchObject({ field: "payload" });
    const noUser = `payload=${encodeURIComponent(JSON.stringify({ type: "block_actions", actions: [] }))}`;
    const res = await post(signedInteraction(SECRET, noUser));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ field: "payload.user.id" });
  });

  it("is documented in the OpenAPI document", async () => {
    const doc = (await service.app.inject({ url: "/openapi.json" })).json() as {
      paths: Record<string, { post?: { tags?: string[] } }>;
    };
    expect(doc.paths["/slack/interactions"]?.post?.tags).toEqual(["slack"]);
  });
});

describe("POST /slack/interactions without SLACK_SIGNING_SECRET", () => {
  it("answers 404 saying interactivity is not configured", async () => {
    const service = await startService({}, { worker: false });
    try {
      const res = await service.app.inject({
        method: "POST",
        url: "/slack/interactions",
        ...signedInteraction(SECRET, blockActions({ action_id: ACTION_IDS.accept, value: "x" })),
      });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({
        error: "not_configured",
        message: expect.stringContaining("slack"),
      });
    } finally {
      await service.close();
    }
  });
});

describe("slackSignature", () => {
  it("matches Slack's documented example", () => {
    // https://api.slack.com/authentication/verifying-requests-from-slack (the example request).
    const body =
      "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    expect(slackSignature(SECRET, body, 1531420618).signature).toBe(
      "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    );
  });
});
