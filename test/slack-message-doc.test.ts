/**
 * The README's Block Kit sample (docs/slack-message.json) is what the renderer makes of the sample lead today;
 * after a change to the owner's message, `node bin/slack-message-picture.ts` writes it (and the picture) again.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { mrkdwnToHtml } from "../bin/slack-html.ts";
import { messageJson, sampleMessages } from "../bin/slack-message-picture.ts";

describe("docs/slack-message.json", () => {
  it("is the real renderer's message for the sample lead (else run node bin/slack-message-picture.ts)", async () => {
    const { message, decided } = await sampleMessages();
    expect(readFileSync("docs/slack-message.json", "utf8")).toBe(messageJson(message));
    expect(JSON.stringify(message.blocks)).toContain("lead.accept");
    expect(JSON.stringify(decided.blocks)).not.toContain("lead.accept");
  });

  it("the picture's HTML keeps lead text as text and turns Slack's tokens into links and names", () => {
    const html = mrkdwnToHtml(
      "*Dana* &lt;script&gt; <mailto:a@b.co|a@b.co> <@U1> <!date^1795257720^{time}|10:42 UTC>",
      {
        users: { U1: "Noah" },
        timeZone: "UTC",
      },
    );
    expect(html).toBe(
      '<b>Dana</b> &lt;script&gt; <a href="mailto:a@b.co">a@b.co</a> <span class="mention">@Noah</span> 10:42 AM',
    );
  });
});
