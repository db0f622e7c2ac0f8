/**
 * An admin retry right after a vendor came back: the circuit breaker is still open (30 s), yet the retry
 * probes Slack instead of failing fast, and completes. While it was down, the lead's error named Slack's
 * answer, not "circuit open". The real @slack/web-api client runs against a loopback fake.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SlackFake } from "./fakes/slack-fake.ts";
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

describe("admin retry with Slack's circuit open", () => {
  let slack: SlackFake;
  let service: TestService;

  beforeAll(async () => {
    slack = await SlackFake.start({ token: "xoxb-test" });
    slack.channels.add("#leads");
    service = await startService({
      ADMIN_TOKENS: TOKEN,
      SLACK_BOT_TOKEN: "xoxb-test",
      SLACK_API_URL: slack.url,
      SLACK_DEFAULT_CHANNEL: "#leads",
    });
  });
  afterAll(async () => {
    await service?.close();
    await slack?.close();
  });

  async function failedLead(n: number) {
    const res = await service.app.inject({
      method: "POST",
      url: "/webhooks/lead",
      payload: { ...sampleLead(QUALIFIED_LEAD), email: `outage${n}@bramblewick.com` },
    });
    return waitForStatus(service.runtime.store, res.json<{ leadId: string }>().leadId, [
      "failed",
      "completed",
    ]);
  }

  it("keeps Slack's own error on the lead and probes Slack on retry instead of failing fast", async () => {
    slack.inject({ kind: "status", status: 503 }, { times: 10_000 });
    // Leads fail on Slack's 503s until the breaker opens; the next one fails fast.
    let fastFailed: Awaited<ReturnType<typeof failedLead>> | undefined;
    for (let n = 0; n < 6 && !fastFailed; n++) {
      const lead = await failedLead(n);
      expect(lead.status).toBe("failed");
      if (lead.lastError?.message.includes("circuit open")) fastFailed = lead;
    }
    if (!fastFailed) throw new Error("the circuit never opened");
    // The root cause first: what Slack answered, then that this call was not made.
    expect(fastFailed.lastError?.message).toMatch(/^slack: .*statusCode = 503 \(circuit open since /);

    slack.clearFaults();
    const postsBefore = slack.calls("chat.postMessage").length;
    const retry = await service.app.inject({
      method: "POST",
      url: `/admin/leads/${fastFailed.leadId}/retry`,
      headers: auth,
    });
    expect(retry.statusCode).toBe(202);
    const done = await waitForStatus(service.runtime.store, fastFailed.leadId, [...DELIVERED, "failed"]);
    expect(done.status, JSON.stringify(done.lastError)).toBeOneOf(DELIVERED);
    expect(slack.calls("chat.postMessage").length - postsBefore).toBe(1);
  });
});
