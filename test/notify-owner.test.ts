import { describe, expect, it } from "vitest";
import { decodeAction } from "../domain/message-actions.ts";
import {
  buildDecidedMessage,
  buildOwnerMessage,
  buildReviewMessage,
  escapeMrkdwn,
  messageTarget,
  outcomeLine,
  reviewTarget,
  SLACK_LIMITS,
  waitedFor,
} from "../domain/owner-message.ts";
import { humanizeId, whyYours } from "../domain/why-yours.ts";
import { contactLink, createNotifyOwnerNode } from "../nodes/notify-owner.ts";
import { createSyncCrmNode } from "../nodes/sync-crm.ts";
import { MemoryLedger } from "../store/memory.ts";
import type { Crm } from "../tools/ports.ts";
import { recordingCrm, recordingNotifier } from "./helpers/fakes.ts";
import { aLead, aState, shippedRouting } from "./helpers/state.ts";

const routing = shippedRouting();
const routed = aState({
  route: { ownerId: "ethan.brooks", ruleName: "na-west", kind: "owner", explanation: [] },
  path: "qualified",
  score: { value: 81, tier: "hot", ruleScore: 81, greyZone: false, reasons: [], evidence: [] },
  summary: { bullets: ["Who: Dana Lee", "Next step: call"], generatedBy: "template" },
});

function textOf(blocks: unknown): string {
  return JSON.stringify(blocks);
}

const ETHAN = { ownerName: "Ethan Brooks", routing };

describe("buildOwnerMessage", () => {
  it("has a header, the summary, the rule in words, and no link to the admin API", () => {
    const { text, blocks } = buildOwnerMessage(
      { ...routed, summary: { bullets: ["Why now: form demo"], generatedBy: "gpt-4o-mini" } },
      ETHAN,
    );
    expect(text).toContain("New hot lead");
    expect(blocks[0]).toMatchObject({ type: "header" });
    expect(textOf(blocks)).toContain("• Why now: form demo");
    expect(textOf(blocks)).toContain("NA West territory (CA, US)");
    expect(textOf(blocks)).not.toContain("/admin/");
  });

  it("gives what an AE needs at a glance: contact links, score reasons, CRM record, a next step", () => {
    const state = {
      ...routed,
      lead: aLead({ phone: "+14155550100", form: "demo-request" }),
      score: {
        value: 81,
        tier: "hot" as const,
        ruleScore: 81,
        greyZone: false,
        reasons: [
          { field: "lead.form", value: "demo-request", points: 25, text: "Asked for a demo (+25)" },
          { field: "enrichment.industry", value: "software", points: 10, text: "Software company (+10)" },
          { field: "enrichment.seniority", value: "vp", points: 15, text: "VP-level buyer (+15)" },
          { field: "enrichment.freeMail", value: false, points: 1, text: "Work email (+1)" },
        ],
        evidence: [],
      },
      summary: {
        bullets: [
          "Who: Dana Lee",
          "Company: Northwind Systems: software",
          "Similar accounts: Acme",
          "Next step: x",
        ],
        generatedBy: "template",
      },
      similarAccounts: [
        {
          id: "a1",
          name: "Acme Robotics",
          domain: "acme.io",
          industry: "software",
          country: "US",
          employees: 500,
          outcome: "won" as const,
          arr: 120_000,
          note: "Bought after a pilot",
          similarity: 0.9,
        },
      ],
    };
    const url = "https://app.hubspot.com/contacts/123/record/0-1/901";
    const json = textOf(
      buildOwnerMessage(state, { ...ETHAN, crmUrl: url, crmLabel: "Open in HubSpot" }).blocks,
    );
    expect(json).toContain("<mailto:dana.lee@northwind.io|dana.lee@northwind.io>");
    expect(json).toContain("<tel:+14155550100|+14155550100>");
    expect(json).toContain(`<${url}|Open in HubSpot>`);
    expect(json).toContain("*Dana Lee*, VP Engineering at *Northwind Systems* (northwind.io)");
    expect(json).toContain("*Score 81* (hot)");
    // The three reasons that weighed most, in order.
    expect(json).toMatch(/Asked for a demo \(\+25\).*VP-level buyer \(\+15\).*Software company \(\+10\)/);
    expect(json).not.toContain("Work email");
    expect(json).toContain("Book the demo with Dana within one business day");
    // Similar accounts once: the template's own bullet about them is not repeated.
    expect(json.match(/Acme/g)).toHaveLength(1);
    expect(json).not.toContain("Next step: x");
  });

  it("offers Accept, Reassign, Reassign to… (other active owners) and Not a fit with its reasons", () => {
    const { blocks } = buildOwnerMessage(routed, ETHAN);
    const actions = blocks.find((b) => b.type === "actions") as { elements: Array<Record<string, unknown>> };
    const ids = actions.elements.map((e) => e.action_id);
    expect(ids).toEqual(["lead.accept", "lead.reassign", "lead.reassign_to", "lead.decline"]);
    expect(actions.elements[0]).toMatchObject({ type: "button", value: "lead-1", style: "primary" });
    const picker = actions.elements[2] as { options: Array<{ value: string }> };
    const values = picker.options.map((o) => o.value);
    expect(values).toContain("lead-1|maya.patel");
    expect(values).not.toContain("lead-1|ethan.brooks");
    // Hannah Fischer is inactive in the shipped routing.json.
    expect(values).not.toContain("lead-1|hannah.fischer");
    const decline = actions.elements[3] as { options: Array<{ value: string }> };
    expect(decline.options.map((o) => o.value)).toEqual([
      "lead-1|wrong_territory",
      "lead-1|not_a_buyer",
      "lead-1|spam",
      "lead-1|existing_customer",
    ]);
    for (const option of [...picker.options, ...decline.options])
      expect(decodeAction({ action_id: "lead.decline", selected_option: option })?.leadId ?? "lead-1").toBe(
        "lead-1",
      );
  });

  it("escapes lead text so it cannot mention @channel or form links", () => {
    const state = {
      ...routed,
      lead: aLead({ title: "<!channel> <https://evil.example|click> & co", firstName: "<!here>" }),
    };
    const json = textOf(buildOwnerMessage(state, ETHAN).blocks);
    expect(json).not.toContain("<!channel>");
    expect(json).not.toContain("<!here>");
    expect(json).toContain("&lt;!channel&gt;");
    expect(escapeMrkdwn("a<b>&c")).toBe("a&lt;b&gt;&amp;c");
  });

  it("stays within Slack's limits however long the summary is", () => {
    const huge = {
      ...routed,
      summary: { bullets: Array.from({ length: 8 }, () => "x".repeat(2000)), generatedBy: "template" },
      lead: aLead({ company: "C".repeat(500) }),
    };
    const { blocks } = buildOwnerMessage(huge, ETHAN);
    expect(blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
    for (const block of blocks) {
      const b = block as { type: string; text?: { text: string }; fields?: Array<{ text: string }> };
      if (b.type === "section" && b.text)
        expect(b.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
      if (b.type === "header" && b.text)
        expect(b.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.headerText);
      for (const f of b.fields ?? []) expect(f.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fieldText);
    }
  });

  it("marks review leads", () => {
    const { text, blocks } = buildOwnerMessage({ ...routed, path: "review" }, ETHAN);
    expect(text).toContain("Lead to review");
    expect(textOf(blocks)).toContain("could not decide");
  });
});

describe("whyYours", () => {
  it("says why in an AE's words", () => {
    const route = (r: Partial<typeof routed.route>) => ({
      ruleName: "x",
      kind: "owner" as const,
      explanation: [],
      ...r,
    });
    expect(whyYours(route({ kind: "account" }), routing, aLead(), "Northwind")).toBe(
      "Your existing customer: Northwind is your account in the CRM",
    );
    expect(
      whyYours(
        route({
          kind: "contact",
          previous: { ownerId: "x", leadId: "l0", routedAt: "2026-10-02T09:00:00Z" },
        }),
        routing,
      ),
    ).toBe("Returning lead: yours since their lead of 2026-10-02");
    expect(whyYours(route({ kind: "contact", facts: { existingContact: true } }), routing)).toContain(
      "already yours in the CRM",
    );
    expect(whyYours(route({ ruleName: "na-west" }), routing, aLead())).toBe("NA West territory (CA, US)");
    expect(
      whyYours(route({ ruleName: "na-enterprise", kind: "pool", pool: "na-enterprise" }), routing, aLead()),
    ).toBe("NA Enterprise territory (US, 1,000+ employees): your turn in the NA Enterprise pool");
    expect(whyYours(route({ ruleName: "partner-referrals" }), routing, aLead({ source: "partner" }))).toBe(
      "Partner Referrals (partner source)",
    );
    expect(whyYours(route({ ruleName: "fallback", kind: "fallback" }), routing)).toContain("fallback owner");
    expect(humanizeId("rest-of-emea")).toBe("Rest of EMEA");
  });
});

describe("buildReviewMessage", () => {
  it("asks the review queue to Approve (to the routed owner), Route to… or Nurture", () => {
    const grey = {
      ...routed,
      path: "review" as const,
      score: { value: 55, tier: "warm" as const, ruleScore: 55, greyZone: true, reasons: [], evidence: [] },
    };
    const { text, blocks } = buildReviewMessage(grey, ETHAN);
    expect(text).toContain("Lead to review");
    expect(textOf(blocks)).toContain("Score 55 is in the grey zone");
    const actions = blocks.find((b) => b.type === "actions") as { elements: Array<Record<string, unknown>> };
    expect(actions.elements.map((e) => e.action_id)).toEqual([
      "review.approve",
      "review.route",
      "review.nurture",
    ]);
    expect(textOf(actions)).toContain("Approve → Ethan Brooks");
    const queued = {
      ...grey,
      route: { queue: "sdr-review", ruleName: "fallback", kind: "fallback" as const, explanation: [] },
    };
    const fallback = buildReviewMessage(queued, { ownerName: "SDR review", routing });
    const ids = (
      fallback.blocks.find((b) => b.type === "actions") as { elements: Array<{ action_id: string }> }
    ).elements.map((e) => e.action_id);
    // No routed owner: nothing to approve to.
    expect(ids).toEqual(["review.route", "review.nurture"]);
    expect(textOf(fallback.blocks)).toContain("No routing rule matched");
    expect(reviewTarget(queued, routing)).toEqual({ channel: "#lead-review" });
    expect(reviewTarget(routed, routing)).toEqual({ channel: "#lead-review" });
  });
});

describe("buildDecidedMessage", () => {
  const at = "2026-11-21T10:42:00.000Z";
  it("replaces the buttons with who decided what, and when", () => {
    const { text, blocks } = buildDecidedMessage(
      routed,
      { kind: "accept", by: "U123", at, via: "slack" },
      ETHAN,
    );
    expect(blocks.some((b) => b.type === "actions")).toBe(false);
    expect(textOf(blocks)).not.toContain("Next step");
    expect(textOf(blocks)).toContain(
      `✅ Accepted by <@U123> at <!date^${Date.parse(at) / 1000}^{time}|10:42 UTC>`,
    );
    expect(text).toContain("Accepted by @U123 at 10:42 UTC");
    // The lead's facts stay.
    expect(textOf(blocks)).toContain("mailto:dana.lee@northwind.io");
  });

  it("words every outcome", () => {
    expect(
      outcomeLine(
        { kind: "reassign", by: "timer", via: "timer", to: "maya.patel", at, afterMs: 900_000 },
        routing,
      ),
    ).toBe("⏰ Reassigned to Maya Patel after 15 min (SLA)");
    expect(outcomeLine({ kind: "sla", by: "sla", to: "maya.patel", at, afterMs: 5_400_000 }, routing)).toBe(
      "⏰ Reassigned to Maya Patel after 1 h 30 min (SLA)",
    );
    expect(
      outcomeLine({ kind: "decline", by: "U9", reason: "wrong_territory", to: "noah.williams", at }, routing),
    ).toMatch(/^🚫 Declined: wrong territory — re-routed to Noah Williams \(by <@U9> at <!date/);
    expect(
      outcomeLine(
        { kind: "decline", by: "ethan.brooks", reason: "spam", to: null, at, via: "admin" },
        routing,
      ),
    ).toMatch(/^🚫 Declined: spam — disqualified \(by Ethan Brooks at/);
    expect(
      outcomeLine({ kind: "decline", by: "U9", reason: "not_a_buyer", to: null, at }, routing),
    ).toContain("sent to nurture");
    expect(outcomeLine({ kind: "reassign", by: "U9", to: "maya.patel", at }, routing)).toMatch(
      /^↪️ Reassigned to Maya Patel by <@U9> at/,
    );
    expect(
      outcomeLine({ kind: "escalate", by: "timer", to: "sdr-review", at, afterMs: 7_200_000 }, routing),
    ).toBe("📣 Escalated to SDR review after 2 h without an answer (SLA)");
    expect(outcomeLine({ kind: "approve", by: "U7", to: "ethan.brooks", at }, routing)).toMatch(
      /^✅ Approved by <@U7> at .* — sent to Ethan Brooks$/,
    );
    expect(outcomeLine({ kind: "route", by: "U7", to: "maya.patel", at }, routing)).toMatch(
      /^➡️ Routed to Maya Patel by <@U7>/,
    );
    expect(outcomeLine({ kind: "nurture", by: "U7", at }, routing)).toMatch(/^🌱 Sent to nurture by <@U7>/);
    // A name typed into the CLI is text, not markup.
    expect(outcomeLine({ kind: "accept", by: "<!channel>", at, via: "cli" })).toContain("&lt;!channel&gt;");
    expect(waitedFor(40_000)).toBe("40 s");
  });

  it("renders a decided review message without its buttons", () => {
    const { blocks } = buildDecidedMessage(
      { ...routed, path: "review" },
      { kind: "nurture", by: "U7", at },
      { ownerName: "SDR review", routing },
    );
    expect(blocks.some((b) => b.type === "actions")).toBe(false);
    expect(textOf(blocks)).toContain("Sent to nurture by <@U7>");
  });
});

describe("contactLink", () => {
  it("links the HubSpot record once the contact id is known, else the console for a CRM without pages", () => {
    const hubspot = { contactUrl: (id: string) => `https://app.hubspot.com/contacts/42/record/0-1/${id}` };
    const crm = hubspot as unknown as Crm;
    expect(contactLink({ crm }, { leadId: "l1", crm: { contactId: "901" } })).toEqual({
      crmUrl: "https://app.hubspot.com/contacts/42/record/0-1/901",
      crmLabel: "Open in HubSpot",
    });
    expect(contactLink({ crm }, { leadId: "l1", lead: aLead({ hubspotContactId: "77" }) }).crmUrl).toMatch(
      /\/77$/,
    );
    expect(contactLink({ crm, publicUrl: "https://leads.example.com" }, { leadId: "l1" })).toEqual({});
    expect(contactLink({ publicUrl: "https://leads.example.com/" }, { leadId: "l1" })).toEqual({
      crmUrl: "https://leads.example.com/console/leads/l1",
      crmLabel: "Open in console",
    });
    expect(contactLink({}, { leadId: "l1" })).toEqual({});
  });
});

describe("messageTarget", () => {
  it("DMs the owner by email, or posts to the queue's channel", () => {
    expect(messageTarget(routed, routing)).toEqual({
      ownerId: "ethan.brooks",
      ownerEmail: "ethan.brooks@example.com",
    });
    const queued = aState({
      route: { queue: "sdr-review", ruleName: "fallback", kind: "fallback", explanation: [] },
    });
    expect(messageTarget(queued, routing)).toEqual({ channel: "#lead-review" });
  });
});

describe("notifyOwner node", () => {
  it("posts once; a second run updates the same message instead of posting again", async () => {
    const notifier = recordingNotifier();
    const ledger = new MemoryLedger();
    const node = createNotifyOwnerNode({
      notifier,
      ledger,
      routing: () => routing,
      clock: () => new Date("2026-11-21T10:00:00Z"),
    });
    const first = await node(routed);
    const second = await node(routed);
    expect(notifier.sent).toHaveLength(2);
    expect(notifier.sent[0]?.previous).toBeUndefined();
    expect(notifier.sent[1]?.previous).toEqual({ channel: "dm:ethan.brooks", messageId: "1" });
    expect(first.notifications?.[0]).toMatchObject({
      adapter: "recording",
      messageId: "1",
      ownerId: "ethan.brooks",
    });
    expect(second.notifications?.[0]?.messageId).toBe("1");
  });
});

describe("the first DM's CRM link", () => {
  it("is added in place once syncCrm has the new contact, once per lead", async () => {
    const notifier = recordingNotifier();
    const ledger = new MemoryLedger();
    const crm = {
      ...recordingCrm(),
      contactUrl: (id: string) => `https://app.hubspot.com/contacts/42/record/0-1/${id}`,
    };
    const deps = {
      notifier,
      ledger,
      crm,
      routing: () => routing,
      clock: () => new Date("2026-11-21T10:00:00Z"),
    };
    await createNotifyOwnerNode(deps)(routed);
    expect(JSON.stringify(notifier.sent[0]?.message.blocks)).not.toContain("Open in HubSpot");

    const sync = createSyncCrmNode(deps);
    const { crm: synced } = await sync(routed);
    expect(notifier.sent).toHaveLength(2);
    expect(notifier.sent[1]?.previous).toEqual({ channel: "dm:ethan.brooks", messageId: "1" });
    expect(JSON.stringify(notifier.sent[1]?.message.blocks)).toContain(
      `<https://app.hubspot.com/contacts/42/record/0-1/${synced?.contactId}|Open in HubSpot>`,
    );
    // A retried syncCrm does not edit the message again.
    await sync(routed);
    expect(notifier.sent).toHaveLength(2);
  });

  it("leaves alone a message that had the link, a CRM without pages, and a nurture lead", async () => {
    const cases = [
      { state: { ...routed, lead: aLead({ hubspotContactId: "77" }) }, pages: true },
      { state: routed, pages: false },
      { state: { ...routed, path: "nurture" as const }, pages: true },
    ];
    for (const { state, pages } of cases) {
      const notifier = recordingNotifier();
      const base = recordingCrm();
      const crm = pages ? { ...base, contactUrl: (id: string) => `https://crm.example/${id}` } : base;
      const deps = {
        notifier,
        ledger: new MemoryLedger(),
        crm,
        routing: () => routing,
        clock: () => new Date(),
      };
      await createNotifyOwnerNode(deps)(state);
      await createSyncCrmNode(deps)(state);
      expect(notifier.sent).toHaveLength(1);
    }
  });
});
