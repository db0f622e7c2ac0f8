import { createServer } from "node:net";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { OwnerMessage } from "../tools/ports.ts";
import { VendorCaller, VendorError } from "../tools/resilience.ts";
import {
  classifySlackError,
  NoSlackChannelError,
  SlackNotifier,
  slackPolicy,
} from "../tools/slack/slack-notifier.ts";
import { SlackFake } from "./fakes/slack-fake.ts";

function testCaller(overrides: Partial<Parameters<typeof slackPolicy>[0]> = {}) {
  return new VendorCaller(
    slackPolicy({
      timeoutMs: 2_000,
      retries: 2,
      baseDelayMs: 10,
      maxDelayMs: 40,
      maxRetryAfterMs: 1_000,
      breaker: { volumeThreshold: 3, errorThresholdPercentage: 50, resetTimeoutMs: 60_000 },
      ...overrides,
    }),
  );
}

const blocks = [{ type: "section", text: { type: "mrkdwn", text: "*Acme GmbH* scored 82 (hot)" } }];

function message(overrides: Partial<OwnerMessage> = {}): OwnerMessage {
  return {
    leadId: "lead-1",
    ownerId: "ae-anna",
    ownerEmail: "Anna@Corp.test",
    text: "New hot lead: Acme GmbH",
    blocks,
    ...overrides,
  };
}

/** A loopback port with nothing listening: connections are refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("SlackNotifier against a loopback Slack", () => {
  let fake: SlackFake;
  let caller: VendorCaller;
  let notifier: SlackNotifier;

  beforeEach(async () => {
    fake = await SlackFake.start({ token: "xoxb-test" });
    fake.addUser("anna@corp.test", "U0ANNA");
    fake.channels.add("#leads");
    fake.channels.add("C0QUEUE");
    caller = testCaller();
    notifier = new SlackNotifier({
      token: "xoxb-test",
      slackApiUrl: fake.url,
      caller,
      defaultChannel: "#leads",
    });
  });

  afterEach(async () => {
    caller.shutdown();
    await fake.close();
  });

  it("DMs the owner, looking the user and the DM up once for two messages", async () => {
    const first = await notifier.send(message());
    const second = await notifier.send(message({ leadId: "lead-2", ownerEmail: "anna@corp.test" }));

    expect(first.channel).toBe("D0ANNA");
    expect(second.channel).toBe("D0ANNA");
    expect(first.messageId).not.toBe(second.messageId);
    expect(fake.calls("users.lookupByEmail")).toHaveLength(1);
    expect(fake.calls("users.lookupByEmail")[0]?.body.email).toBe("anna@corp.test");
    expect(fake.calls("conversations.open")).toHaveLength(1);
    expect(fake.calls("conversations.open")[0]?.body.users).toBe("U0ANNA");
    const posts = fake.calls("chat.postMessage");
    expect(posts).toHaveLength(2);
    expect(posts[0]?.headers.authorization).toBe("Bearer xoxb-test");
    expect(posts[0]?.body).toMatchObject({ channel: "D0ANNA", text: "New hot lead: Acme GmbH" });
    expect(JSON.parse(String(posts[0]?.body.blocks))).toEqual(blocks);
  });

  it("posts to the message's channel when it names one, without a lookup", async () => {
    const posted = await notifier.send(message({ channel: "C0QUEUE" }));

    expect(posted.channel).toBe("C0QUEUE");
    expect(fake.calls("users.lookupByEmail")).toHaveLength(0);
  });

  it("falls back to the default channel when the owner has no Slack user", async () => {
    const posted = await notifier.send(message({ ownerEmail: "ghost@corp.test" }));

    expect(posted.channel).toBe("#leads");
    expect(fake.calls("users.lookupByEmail")).toHaveLength(1);
    expect(fake.calls("conversations.open")).toHaveLength(0);
    expect(fake.messages.map((m) => m.channel)).toEqual(["#leads"]);
  });

  it("refuses to guess a channel when there is none", async () => {
    const bare = new SlackNotifier({ token: "xoxb-test", slackApiUrl: fake.url, caller });
    await expect(bare.send(message({ ownerEmail: undefined }))).rejects.toBeInstanceOf(NoSlackChannelError);
    expect(fake.calls("chat.postMessage")).toHaveLength(0);
  });

  it("updates the previous message instead of posting again", async () => {
    const first = await notifier.send(message());
    const again = await notifier.send(message({ text: "Updated: Acme GmbH" }), first);

    expect(again).toEqual(first);
    expect(fake.calls("chat.postMessage")).toHaveLength(1);
    expect(fake.calls("chat.update")).toHaveLength(1);
    expect(fake.calls("chat.update")[0]?.body).toMatchObject({
      channel: first.channel,
      ts: first.messageId,
      text: "Updated: Acme GmbH",
    });
    expect(fake.messages).toHaveLength(1);
    expect(fake.messages[0]).toMatchObject({ text: "Updated: Acme GmbH", edits: 1 });
  });

  it("posts with metadata naming the lead and effect, and finds that post again by it", async () => {
    // 260 posts in a row: the 2 s timeout of the other cases is a hang guard a loaded machine trips here.
    caller.shutdown();
    caller = testCaller({ timeoutMs: 10_000 });
    notifier = new SlackNotifier({
      token: "xoxb-test",
      slackApiUrl: fake.url,
      caller,
      defaultChannel: "#leads",
    });
    const after = new Date(Date.now() - 60_000);
    const keyed = message({ effectKey: "lead-1:notify" });
    expect(await notifier.findPosted(keyed, after)).toBeNull();
    // Other messages in the DM, before and after, some of them LeadGraph's own for other leads.
    await notifier.send(message({ leadId: "lead-0", effectKey: "lead-0:notify" }));
    const posted = await notifier.send(keyed);
    for (let i = 2; i < 260; i++)
      await notifier.send(message({ leadId: `lead-${i}`, effectKey: `lead-${i}:notify` }));

    expect(JSON.parse(String(fake.calls("chat.postMessage")[1]?.body.metadata))).toEqual({
      event_type: "leadgraph_lead",
      event_payload: { leadId: "lead-1", effect: "lead-1:notify" },
    });
    // Two pages back (200 per page), newest first.
    expect(await notifier.findPosted(keyed, after)).toEqual(posted);
    const lookups = fake.calls("conversations.history");
    expect(lookups.at(-1)?.body).toMatchObject({
      channel: "D0ANNA",
      include_all_metadata: "true",
      limit: "200",
    });
    expect(await notifier.findPosted(message({ effectKey: "lead-9999:notify" }), after)).toBeNull();
    // Only messages since `after` are looked through.
    const later = new Date((Number(posted.messageId) + 1) * 1000);
    expect(await notifier.findPosted(keyed, later)).toBeNull();
    expect(fake.messages.filter((m) => m.metadata?.event_payload.effect === "lead-1:notify")).toHaveLength(1);
  });

  it("retries an update after a 500: editing twice is harmless", async () => {
    const first = await notifier.send(message({ channel: "#leads" }));
    fake.inject({ kind: "status", status: 500 }, { method: "chat.update" });

    await notifier.send(message({ text: "Updated" }), first);

    expect(fake.calls("chat.update")).toHaveLength(2);
    expect(fake.messages).toHaveLength(1);
    expect(fake.messages[0]?.text).toBe("Updated");
  });

  it("retries a rate-limited post (429 + Retry-After) and posts once", async () => {
    fake.inject({ kind: "status", status: 429, retryAfter: "0" }, { method: "chat.postMessage" });

    const posted = await notifier.send(message({ channel: "#leads" }));

    expect(fake.calls("chat.postMessage")).toHaveLength(2);
    expect(fake.messages).toHaveLength(1);
    expect(posted.messageId).toBe(fake.messages[0]?.ts);
  });

  it("passes Slack's Retry-After to the caller", async () => {
    const noRetry = testCaller({ retries: 0 });
    const strict = new SlackNotifier({ token: "xoxb-test", slackApiUrl: fake.url, caller: noRetry });
    fake.inject({ kind: "status", status: 429, retryAfter: "4" }, { method: "chat.postMessage" });

    const err = await strict.send(message({ channel: "#leads" })).catch((e: unknown) => e);
    noRetry.shutdown();

    expect(err).toMatchObject({ name: "VendorError", code: "rate_limited", retryable: true });
    expect(classifySlackError((err as VendorError).cause)).toMatchObject({
      code: "rate_limited",
      retryAfterMs: 4_000,
    });
  });

  it("does not retry a post that got a 500: it may have landed", async () => {
    fake.inject({ kind: "status", status: 500 }, { method: "chat.postMessage" });

    const err = await notifier.send(message({ channel: "#leads" })).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(VendorError);
    expect(err).toMatchObject({ code: "http", status: 500, retryable: false });
    expect(fake.calls("chat.postMessage")).toHaveLength(1);
  });

  it("does not retry a post that timed out", async () => {
    fake.inject({ kind: "hang" }, { method: "chat.postMessage" });

    const err = await notifier.send(message({ channel: "#leads" })).catch((e: unknown) => e);

    expect(err).toMatchObject({ name: "VendorError", code: "timeout", retryable: false });
    expect(fake.calls("chat.postMessage")).toHaveLength(1);
    // The client's own timeout cancelled the request rather than leaving the socket open.
    await vi.waitFor(() => expect(fake.calls("chat.postMessage")[0]?.clientClosed).toBe(true));
  });

  it("does not retry a post whose connection was reset after sending", async () => {
    fake.inject({ kind: "reset" }, { method: "chat.postMessage" });

    const err = await notifier.send(message({ channel: "#leads" })).catch((e: unknown) => e);

    expect(err).toMatchObject({ name: "VendorError", code: "network", retryable: false });
    expect(fake.calls("chat.postMessage")).toHaveLength(1);
  });

  it("does not retry a Slack API error such as channel_not_found", async () => {
    const err = await notifier.send(message({ channel: "C0GONE" })).catch((e: unknown) => e);

    expect(err).toMatchObject({ name: "VendorError", code: "http", retryable: false });
    expect((err as Error).message).toContain("channel_not_found");
    expect(fake.calls("chat.postMessage")).toHaveLength(1);
  });

  it("retries idempotent lookups on a 500 and on a timeout", async () => {
    // A wider breaker window: two failures in three calls would otherwise open this test's circuit.
    const lenient = testCaller({
      breaker: { volumeThreshold: 10, errorThresholdPercentage: 50, resetTimeoutMs: 60_000 },
    });
    const patient = new SlackNotifier({ token: "xoxb-test", slackApiUrl: fake.url, caller: lenient });
    fake.inject({ kind: "status", status: 500 }, { method: "users.lookupByEmail" });
    fake.inject({ kind: "hang" }, { method: "conversations.open" });

    const posted = await patient.send(message());
    lenient.shutdown();

    expect(posted.channel).toBe("D0ANNA");
    expect(fake.calls("users.lookupByEmail")).toHaveLength(2);
    expect(fake.calls("conversations.open")).toHaveLength(2);
    expect(fake.calls("chat.postMessage")).toHaveLength(1);
  });

  it("opens the circuit after a storm of 5xx, then fails fast without calling Slack", async () => {
    fake.inject(
      { kind: "status", status: 503 },
      { method: "chat.postMessage", times: Number.POSITIVE_INFINITY },
    );

    for (let i = 0; i < 3; i++) {
      await expect(notifier.send(message({ channel: "#leads" }))).rejects.toMatchObject({ code: "http" });
    }
    expect(caller.circuitOpen).toBe(true);
    const before = fake.requests.length;

    await expect(notifier.send(message({ channel: "#leads" }))).rejects.toMatchObject({
      name: "VendorError",
      code: "circuit_open",
    });
    expect(fake.requests.length).toBe(before);
  });

  it("retries a post whose connection was refused (it never reached Slack)", async () => {
    const port = await closedPort();
    const refused = testCaller({
      breaker: { volumeThreshold: 100, errorThresholdPercentage: 50, resetTimeoutMs: 60_000 },
    });
    const offline = new SlackNotifier({
      token: "xoxb-test",
      slackApiUrl: `http://127.0.0.1:${port}/api/`,
      caller: refused,
    });

    const err = await offline.send(message({ channel: "#leads" })).catch((e: unknown) => e);
    refused.shutdown();

    // retryable stays true only when every attempt was classified as safe to repeat.
    expect(err).toMatchObject({ name: "VendorError", code: "network", retryable: true });
  });

  it("names the host and the socket error of a network failure, never the token", async () => {
    const port = await closedPort();
    const refused = testCaller({ retries: 0 });
    const offline = new SlackNotifier({
      token: "xoxb-secret-never-shown",
      slackApiUrl: `http://127.0.0.1:${port}/api/`,
      caller: refused,
    });
    const err = await offline.send(message({ channel: "#leads" })).catch((e: unknown) => e);
    refused.shutdown();
    // Before, the message read only "A request error occurred: fetch failed".
    expect((err as Error).message).toContain(`(127.0.0.1:${port}: ECONNREFUSED)`);
    expect((err as Error).message).not.toContain("xoxb");
    expect(err).toMatchObject({ name: "VendorError", code: "network" });
  });

  it("refuses a caller whose classify would retry posts", () => {
    const other = new VendorCaller({
      ...slackPolicy(),
      classify: () => ({ retryable: true, tripsCircuit: true, code: "http" }),
    });
    expect(() => new SlackNotifier({ token: "t", caller: other })).toThrow(/slackPolicy/);
    other.shutdown();
  });
});
