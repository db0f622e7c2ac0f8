/**
 * The owner's Slack loop end to end, in both profiles, as Slack runs it: the lead's DM is posted through the
 * official @slack/web-api client to the loopback fake; the owner clicks in it (Slack's form-encoded, signed
 * `block_actions` post, over real HTTP, built from the message's own buttons and menus); the resumed lead
 * updates that message in place (outcome line, no buttons) and, on a hand-off, DMs the next owner.
 */
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACTION_IDS } from "../domain/message-actions.ts";
import { SlackFake, type SlackPostedMessage } from "./fakes/slack-fake.ts";
import { sampleLead, startService, type TestService, waitForStatus } from "./helpers/app.ts";
import { PROFILES, profileEnv } from "./helpers/profiles.ts";
import { startRedis, type TestRedis } from "./helpers/redis-server.ts";
import { blockActions, type ClickedElement, signedInteraction } from "./helpers/slack-interactions.ts";

const SECRET = "loop-signing-secret-0123456789abcdef";

type Element = { action_id?: string; value?: string; options?: Array<{ value: string }> };

/** `read()` once it is defined (bounded: a hang guard, not a timing check). */
async function eventually<T>(read: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = read();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} did not happen`);
}

let redis: TestRedis | undefined;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe.each(PROFILES)("the owner's Slack loop, %s profile", (profile) => {
  let slack: SlackFake;
  let service: TestService;
  let base: string;
  /** Slack user id → owner id, and the DM channel of each user. */
  const ownerOf = new Map<string, string>();

  beforeAll(async () => {
    slack = await SlackFake.start({ token: "xoxb-test" });
    slack.channels.add("#lead-review");
    service = await startService({
      ...profileEnv(profile, redis, 5),
      SLACK_BOT_TOKEN: "xoxb-test",
      SLACK_API_URL: slack.url,
      SLACK_SIGNING_SECRET: SECRET,
    });
    for (const [i, owner] of service.runtime.deps.routing().owners.entries()) {
      slack.addUser(owner.email, `U${1000 + i}`);
      ownerOf.set(`U${1000 + i}`, owner.id);
    }
    await service.app.listen({ host: "127.0.0.1", port: 0 });
    base = `http://127.0.0.1:${(service.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await service?.close();
    await slack?.close();
  });

  /** A lead from the na-west territory (L010, Ethan Brooks), waiting for its owner; its id and DM. */
  /** A delivered lead waiting for someone: a sample lead (L010: Ethan Brooks's territory) under a fresh email. */
  async function delivered(sample: string): Promise<string> {
    const email = String(sampleLead(sample).email);
    const payload = {
      ...sampleLead(sample),
      email: `${profile}-${Math.random().toString(36).slice(2)}@${email.split("@")[1]}`,
    };
    const res = await fetch(`${base}/webhooks/lead`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload),
    });
    expect(res.status).toBe(202);
    const { leadId } = (await res.json()) as { leadId: string };
    await waitForStatus(service.runtime.store, leadId, ["awaiting"]);
    return leadId;
  }

  /** A lead waiting for its owner (Ethan Brooks), with its DM and the owner's Slack user. */
  async function waitingLead(): Promise<{ leadId: string; message: SlackPostedMessage; user: string }> {
    const leadId = await delivered("L010");
    const message = dmOf(leadId, 0);
    return { leadId, message, user: userOf(message) };
  }

  /** The `n`th DM posted for the lead (a hand-off posts another). */
  function dmOf(leadId: string, n: number): SlackPostedMessage {
    const posted = slack.messages.filter(
      (m) => m.metadata?.event_payload.leadId === leadId && m.channel.startsWith("D"),
    );
    const message = posted[n];
    if (!message) throw new Error(`lead ${leadId} has ${posted.length} messages, not ${n + 1}`);
    return message;
  }

  function userOf(message: SlackPostedMessage): string {
    const user = [...slack.users.values()].find((id) => `D${id.slice(1)}` === message.channel);
    if (!user) throw new Error(`${message.channel} is nobody's DM`);
    return user;
  }

  /** The message's interactive element with `actionId`, as Slack shows it. */
  function elementOf(message: SlackPostedMessage, actionId: string): Element {
    const actions = (message.blocks ?? []).find((b) => (b as { type?: string }).type === "actions") as
      | { elements: Element[] }
      | undefined;
    const element = actions?.elements.find((e) => e.action_id === actionId);
    if (!element) throw new Error(`the message has no ${actionId}`);
    return element;
  }

  async function click(
    message: SlackPostedMessage,
    element: ClickedElement,
    user: string,
    responseUrl?: string,
  ) {
    const signed = signedInteraction(SECRET, blockActions(element, message, user, responseUrl));
    const res = await fetch(`${base}/slack/interactions`, {
      method: "POST",
      headers: signed.headers,
      body: signed.body,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  const updatesOf = (message: SlackPostedMessage) =>
    slack.calls("chat.update").filter((r) => r.body.ts === message.ts && r.body.channel === message.channel);
  /** The lead's record says it waits for `ownerId` (it is written once the hand-off's run ends). */
  async function waitsFor(leadId: string, ownerId: string | undefined): Promise<void> {
    let last: unknown;
    for (let i = 0; i < 400; i++) {
      const lead = await service.runtime.store.getLead(leadId);
      last = (lead?.result as { ownership?: unknown } | undefined)?.ownership;
      const o = last as { ownerId?: string; status?: string } | undefined;
      if (lead?.status === "awaiting" && o?.ownerId === ownerId && o?.status === "awaiting") return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`lead ${leadId} does not wait for ${ownerId}: ${JSON.stringify(last)}`);
  }

  const handedOn = (leadId: string) =>
    slack.messages.filter((m) => m.metadata?.event_payload.leadId === leadId && m.channel.startsWith("D"))
      .length > 1;
  const hasButtons = (message: SlackPostedMessage) =>
    (message.blocks ?? []).some((b) => (b as { type?: string }).type === "actions");

  it("Accept, double-clicked, accepts the lead once and updates its message in place without buttons", async () => {
    const { leadId, message, user } = await waitingLead();
    expect(ownerOf.get(user)).toBe("ethan.brooks");
    const accept = elementOf(message, ACTION_IDS.accept);
    expect(accept.value).toBe(leadId);

    const clicks = await Promise.all([
      click(message, { action_id: ACTION_IDS.accept, value: leadId }, user),
      click(message, { action_id: ACTION_IDS.accept, value: leadId }, user),
    ]);
    expect(clicks.map((c) => c.status)).toEqual([200, 200]);

    const lead = await waitForStatus(service.runtime.store, leadId, ["completed"]);
    expect(lead.result).toMatchObject({ ownership: { status: "accepted", decidedBy: user } });
    expect(updatesOf(message)).toHaveLength(1);
    expect(hasButtons(message)).toBe(false);
    expect(JSON.stringify(message.blocks)).toContain(`Accepted by <@${user}>`);

    // A click after the fact is told so, and changes nothing.
    const late = await click(message, { action_id: ACTION_IDS.accept, value: leadId }, user);
    expect(late).toMatchObject({ status: 200, body: { error: "not_awaiting" } });
    expect(updatesOf(message)).toHaveLength(1);
  });

  it("Not a fit → wrong territory re-routes the lead past the decliner; both see it", async () => {
    const { leadId, message, user } = await waitingLead();
    const menu = elementOf(message, ACTION_IDS.decline);
    const option = menu.options?.find((o) => o.value.endsWith("|wrong_territory"));
    if (!option) throw new Error("no wrong-territory option");
    expect(
      await click(message, { action_id: ACTION_IDS.decline, selected_option: option }, user),
    ).toMatchObject({
      status: 200,
      body: { ok: true },
    });

    const next = await eventually(
      () => (handedOn(leadId) && !hasButtons(message) ? dmOf(leadId, 1) : undefined),
      "the hand-off",
    );
    const nextUser = userOf(next);
    expect(nextUser).not.toBe(user);
    expect(hasButtons(next)).toBe(true);
    const nextName = service.runtime.deps.routing().owners.find((o) => o.id === ownerOf.get(nextUser))?.name;
    await waitsFor(leadId, ownerOf.get(nextUser));
    expect(JSON.stringify(message.blocks)).toContain(`Declined: wrong territory — re-routed to ${nextName}`);
  });

  it("a click on an owner's lead by anyone but that owner is refused with a line for the clicker", async () => {
    const { leadId, message, user } = await waitingLead();
    // Another owner (a forwarded DM, or a message in a channel others read) clicks Accept.
    const other = [...ownerOf.keys()].find((id) => id !== user) as string;
    const hook = slack.responseUrl(`${profile}-${leadId}`);
    const refused = await click(message, { action_id: ACTION_IDS.accept, value: leadId }, other, hook);
    expect(refused).toMatchObject({
      status: 200,
      body: { ok: false, error: "not_holder", response_type: "ephemeral", replace_original: false },
    });
    expect(String(refused.body.text)).toContain("Ethan Brooks");
    // Slack shows the clicker nothing of that answer: the line goes to the click's response_url.
    const told = await eventually(
      () => slack.calls("response_url").find((r) => r.body.text === refused.body.text),
      "the line for the clicker",
    );
    expect(told.body).toEqual({
      response_type: "ephemeral",
      replace_original: false,
      text: refused.body.text,
    });
    // So is a stranger; nothing was queued for either, and the lead still waits for its owner. The
    // stranger's click names a response_url that is neither Slack's nor SLACK_API_URL's: nothing is posted.
    expect(
      await click(
        message,
        { action_id: ACTION_IDS.accept, value: leadId },
        "U0STRANGER",
        "http://127.0.0.1:9/actions/T0TEAM/elsewhere",
      ),
    ).toMatchObject({ body: { error: "not_holder" } });
    await waitsFor(leadId, "ethan.brooks");
    expect(updatesOf(message)).toHaveLength(0);
    expect(slack.calls("response_url")).toHaveLength(1);
    // The owner's own click decides it.
    expect(await click(message, { action_id: ACTION_IDS.accept, value: leadId }, user)).toMatchObject({
      body: { ok: true },
    });
    const lead = await waitForStatus(service.runtime.store, leadId, ["completed"]);
    expect(lead.result).toMatchObject({ ownership: { status: "accepted", decidedBy: user } });
  });

  it("Reassign to… hands the lead to the picked owner, whose DM has the buttons", async () => {
    const { leadId, message, user } = await waitingLead();
    const maya = elementOf(message, ACTION_IDS.reassignTo).options?.find(
      (o) => o.value === `${leadId}|maya.patel`,
    );
    if (!maya) throw new Error("Maya Patel is not offered");
    expect(
      await click(message, { action_id: ACTION_IDS.reassignTo, selected_option: maya }, user),
    ).toMatchObject({
      status: 200,
    });
    const next = await eventually(() => (handedOn(leadId) ? dmOf(leadId, 1) : undefined), "the hand-off");
    expect(ownerOf.get(userOf(next))).toBe("maya.patel");
    await waitsFor(leadId, "maya.patel");
    await eventually(() => (hasButtons(message) ? undefined : true), "the old message's update");
    expect(JSON.stringify(message.blocks)).toContain(`Reassigned to Maya Patel by <@${user}>`);
  });
  it("a reviewer's Approve in the review channel hands the lead to the routed owner, whose DM has the buttons", async () => {
    const leadId = await delivered("L014");
    const review = await eventually(
      () =>
        slack.messages.find(
          (m) => m.channel === "#lead-review" && m.metadata?.event_payload.leadId === leadId,
        ),
      "the review message",
    );
    const approve = elementOf(review, ACTION_IDS.approve);
    expect(approve.value).toBe(leadId);
    expect(await click(review, { action_id: ACTION_IDS.approve, value: leadId }, "U0REVIEWER")).toMatchObject(
      { status: 200, body: { ok: true } },
    );
    const dm = await eventually(
      () =>
        slack.messages.find((m) => m.metadata?.event_payload.leadId === leadId && m.channel.startsWith("D")),
      "the owner's DM",
    );
    const owner = service.runtime.deps.routing().owners.find((o) => o.id === ownerOf.get(userOf(dm)));
    expect(hasButtons(dm)).toBe(true);
    await eventually(() => (hasButtons(review) ? undefined : true), "the review message's update");
    expect(JSON.stringify(review.blocks)).toContain(`Approved by <@U0REVIEWER>`);
    expect(JSON.stringify(review.blocks)).toContain(`sent to ${owner?.name}`);
  });
});
