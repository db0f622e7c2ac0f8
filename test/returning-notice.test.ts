/**
 * A person who comes back goes to the owner they had, who gets a short note in the thread of the earlier
 * lead (not a second full DM), the CRM owner is written once and never changed, and no round-robin turn
 * is spent: through the whole graph, then the same thread reply through the Slack client.
 */
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { buildReturningMessage } from "../domain/returning-message.ts";
import { buildLeadGraph } from "../graph/build.ts";
import type { LeadState } from "../graph/state.ts";
import { MemoryCounters } from "../store/memory.ts";
import { OutboxNotifier } from "../tools/embedded/outbox-notifier.ts";
import { VendorCaller } from "../tools/resilience.ts";
import { SlackNotifier, slackPolicy } from "../tools/slack/slack-notifier.ts";
import { SlackFake } from "./fakes/slack-fake.ts";
import { testDeps } from "./helpers/deps.ts";
import { aState } from "./helpers/state.ts";

/** L025 of the labelled fixtures: a Californian enterprise (Kestrova, 1,000+ staff) for the NA enterprise pool. */
const form = (form: string, message?: string) => ({
  email: "sam.okoro@kestrova.io",
  name: "Sam Okoro",
  company: "Kestrova Cloud",
  country: "US",
  state: "CA",
  postal_code: "94105",
  source: "web",
  form,
  ...(message ? { message } : {}),
});

describe("a returning person through the graph", () => {
  it("gets the same owner, a threaded note for each later form, and one CRM owner write", async () => {
    const counters = new MemoryCounters();
    const notifier = new OutboxNotifier();
    const { deps, crm } = await testDeps({ counters, notifier });
    const graph = buildLeadGraph(deps);
    const run = async (leadId: string, raw: unknown) =>
      (await graph.invoke(
        { leadId, receivedAt: "2026-11-21T10:00:00.000Z", raw },
        { configurable: { thread_id: leadId } },
      )) as LeadState;

    const first = await run("lead-1", form("demo-request"));
    // Someone else takes the pool's next turn in between.
    await run("lead-x", { ...form("demo-request"), email: "ivy@kestrova.io", name: "Ivy Chen" });
    const second = await run("lead-2", form("pricing", "Can we talk <!channel> about seats?"));
    const third = await run("lead-3", { ...form("webinar"), email: "Sam.Okoro+events@kestrova.io" });

    expect(first.route).toMatchObject({ ruleName: "na-enterprise", pool: "na-enterprise" });
    const owner = first.route?.ownerId;
    for (const later of [second, third]) {
      expect(later.route).toMatchObject({ kind: "contact", ownerId: owner });
      expect(later.route?.pool).toBeUndefined();
    }
    expect(second.route?.ruleName).toBe("existing-contact");
    expect(second.route?.previous).toMatchObject({ leadId: "lead-1", ownerId: owner });
    expect(third.route?.previous).toMatchObject({ leadId: "lead-2", ownerId: owner });
    expect(await counters.get("rr:na-enterprise")).toBe(2);

    const records = await notifier.records();
    const root = records.find((r) => r.leadId === "lead-1");
    expect(root?.thread).toBeUndefined();
    const replies = records.filter((r) => r.leadId === "lead-2" || r.leadId === "lead-3");
    expect(replies).toHaveLength(2);
    for (const reply of replies) {
      // Both in the first lead's thread: Slack threads hang off their first message, never a reply.
      expect(reply).toMatchObject({ thread: root?.messageId, channel: root?.channel, edits: 0 });
      expect(reply.text).toMatch(/^🔁 Returning lead: Sam Okoro, Kestrova Cloud/);
      // The note, the owner's buttons (Accept, Reassign, Not a fit), the lead's line.
      expect(reply.blocks.map((b) => b.type)).toEqual(["section", "actions", "context"]);
      expect(JSON.stringify(reply.blocks)).toContain(`"value":"${reply.leadId}"`);
    }
    expect(JSON.stringify(replies[0]?.blocks)).toContain("&lt;!channel&gt;");

    // The contact's owner is written once; the +tag address is a contact of its own, given the same owner.
    const setOwner = crm.calls.filter((c) => c.op === "setOwner" && String(c.args[0]).includes("sam.okoro"));
    const crmOwner = setOwner[0]?.args[1];
    expect(setOwner.map((c) => c.args)).toEqual([
      ["contact-sam.okoro@kestrova.io", crmOwner],
      ["contact-sam.okoro+events@kestrova.io", crmOwner],
    ]);
    expect(second.crm).toMatchObject({ ownerKept: crmOwner });
  });

  it("a retried notice updates its reply instead of posting again", async () => {
    const notifier = new OutboxNotifier();
    const { deps } = await testDeps({ notifier });
    const graph = buildLeadGraph(deps);
    const input = (leadId: string, raw: unknown) =>
      [
        { leadId, receivedAt: "2026-11-21T10:00:00.000Z", raw },
        { configurable: { thread_id: leadId } },
      ] as const;
    await graph.invoke(...input("lead-1", form("demo-request")));
    await graph.invoke(...input("lead-2", form("pricing")));
    // The same lead run again from scratch (a new thread id, as a replay would): same ledger keys.
    await graph.invoke(input("lead-2", form("pricing"))[0], { configurable: { thread_id: "lead-2-again" } });
    const lead2 = (await notifier.records()).filter((r) => r.leadId === "lead-2");
    expect(lead2.map((r) => r.edits)).toEqual([1]);
  });
});

describe("the outbox", () => {
  it("adds the thread column to a table made before replies existed", async () => {
    const db = new DatabaseSync(":memory:");
    db.exec(`CREATE TABLE outbox (seq INTEGER PRIMARY KEY, message_id TEXT NOT NULL UNIQUE, lead_id TEXT NOT NULL,
      effect_key TEXT UNIQUE, owner_id TEXT, channel TEXT NOT NULL, text TEXT NOT NULL, blocks TEXT NOT NULL,
      edits INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL) STRICT`);
    const outbox = new OutboxNotifier({ db });
    const first = await outbox.send({ leadId: "l-1", ownerId: "o", text: "a", blocks: [] });
    await outbox.send({ leadId: "l-2", ownerId: "o", text: "b", blocks: [], thread: first });
    expect((await outbox.records()).map((r) => r.thread)).toEqual([undefined, first.messageId]);
    // A second notifier on the same database finds the column there.
    expect(() => new OutboxNotifier({ db })).not.toThrow();
  });
});

describe("the returning note", () => {
  it("says who came back, how, the score, and since when the person is the owner's", () => {
    const state = aState({
      route: {
        ownerId: "maya.patel",
        ruleName: "returning-lead",
        kind: "contact",
        explanation: [],
        previous: { ownerId: "maya.patel", leadId: "lead-0", routedAt: "2026-10-02T08:00:00.000Z" },
      },
      score: { value: 71, tier: "hot", ruleScore: 71, greyZone: false, reasons: [], evidence: [] },
    });
    const { text } = buildReturningMessage(state);
    expect(text).toMatch(
      /^🔁 Returning lead: .+, score 71 \(hot\)\. Yours since their lead of 2026-10-02\.$/,
    );
  });
});

describe("SlackNotifier thread replies", () => {
  it("posts a reply into the earlier message's thread, in that message's channel", async () => {
    const fake = await SlackFake.start({ token: "xoxb-test" });
    fake.addUser("anna@corp.test", "U0ANNA");
    const caller = new VendorCaller(slackPolicy({ timeoutMs: 300, retries: 1, baseDelayMs: 10 }));
    const notifier = new SlackNotifier({ token: "xoxb-test", slackApiUrl: fake.url, caller });
    try {
      const base = { leadId: "lead-1", ownerId: "ae-anna", ownerEmail: "anna@corp.test", blocks: [] };
      const first = await notifier.send({ ...base, text: "New hot lead" });
      const reply = await notifier.send({
        ...base,
        leadId: "lead-2",
        text: "🔁 Returning lead",
        thread: first,
      });
      expect(reply.channel).toBe(first.channel);
      expect(fake.messages.map((m) => m.thread_ts)).toEqual([undefined, first.messageId]);
      // The thread's channel is used as it is: no second user lookup or DM open.
      expect(fake.calls("users.lookupByEmail")).toHaveLength(1);
    } finally {
      caller.shutdown();
      await fake.close();
    }
  });

  it("finds a reply it posted by its effect key among the thread's replies, after a crash", async () => {
    const fake = await SlackFake.start({ token: "xoxb-test" });
    fake.addUser("anna@corp.test", "U0ANNA");
    const caller = new VendorCaller(slackPolicy({ timeoutMs: 300, retries: 1, baseDelayMs: 10 }));
    const notifier = new SlackNotifier({ token: "xoxb-test", slackApiUrl: fake.url, caller });
    try {
      const base = { ownerId: "ae-anna", ownerEmail: "anna@corp.test", blocks: [] };
      const since = new Date(Date.now() - 60_000);
      const first = await notifier.send({
        ...base,
        leadId: "lead-1",
        text: "New lead",
        effectKey: "lead-1:notify",
      });
      const reply = {
        ...base,
        leadId: "lead-2",
        text: "🔁 Returning lead",
        thread: first,
        effectKey: "lead-2:notify",
      };
      expect(await notifier.findPosted(reply, since)).toBeNull();
      const posted = await notifier.send(reply);
      expect(await notifier.findPosted(reply, since)).toEqual(posted);
      // Channel history does not list replies: the thread is read instead.
      expect(fake.calls("conversations.replies").length).toBeGreaterThan(0);
    } finally {
      caller.shutdown();
      await fake.close();
    }
  });
});
