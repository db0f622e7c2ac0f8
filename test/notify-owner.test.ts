import { describe, expect, it } from "vitest";
import { buildOwnerMessage, escapeMrkdwn, messageTarget, SLACK_LIMITS } from "../domain/owner-message.ts";
import { createNotifyOwnerNode } from "../nodes/notify-owner.ts";
import { MemoryLedger } from "../store/memory.ts";
import { recordingNotifier } from "./helpers/fakes.ts";
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

describe("buildOwnerMessage", () => {
  it("has a header, key fields, the summary and a link", () => {
    const { text, blocks } = buildOwnerMessage(routed, "Ethan Brooks", "https://leads.example.com/");
    expect(text).toContain("New hot lead");
    expect(blocks[0]).toMatchObject({ type: "header" });
    expect(textOf(blocks)).toContain("• Who: Dana Lee");
    expect(textOf(blocks)).toContain("https://leads.example.com/admin/leads/lead-1");
    expect(textOf(blocks)).toContain("na-west");
  });

  it("escapes lead text so it cannot mention @channel or form links", () => {
    const state = { ...routed, lead: aLead({ title: "<!channel> <https://evil.example|click> & co" }) };
    const json = textOf(buildOwnerMessage(state, "Ethan Brooks").blocks);
    expect(json).not.toContain("<!channel>");
    expect(json).toContain("&lt;!channel&gt;");
    expect(escapeMrkdwn("a<b>&c")).toBe("a&lt;b&gt;&amp;c");
  });

  it("stays within Slack's limits however long the summary is", () => {
    const huge = {
      ...routed,
      summary: { bullets: Array.from({ length: 8 }, () => "x".repeat(2000)), generatedBy: "template" },
      lead: aLead({ company: "C".repeat(500) }),
    };
    const { blocks } = buildOwnerMessage(huge, "Ethan Brooks");
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
    const { text, blocks } = buildOwnerMessage({ ...routed, path: "review" }, "Ethan Brooks");
    expect(text).toContain("Lead to review");
    expect(textOf(blocks)).toContain("could not decide");
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
