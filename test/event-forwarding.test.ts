/**
 * Outbound forwarding of live events (EVENTS_WEBHOOK_URL): a lead's events reach a receiver as signed JSON
 * batches; a receiver that fails at first gets the batch again, and the lead completes either way.
 */
import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DELIVERED,
  QUALIFIED_LEAD,
  sampleLead,
  startService,
  type TestService,
  waitForStatus,
} from "./helpers/app.ts";

const SECRET = "forwarding-secret-0123456789";

describe("event forwarding", () => {
  let receiver: Server;
  let service: TestService;
  const received: Array<{ type: string; leadId?: string }> = [];
  let refusals = 1;
  let badSignatures = 0;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on("end", () => {
        // The first delivery fails: forwarding retries it.
        if (refusals > 0) {
          refusals -= 1;
          res.writeHead(503).end();
          return;
        }
        const expected = `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`;
        if (req.headers["x-leadgraph-signature"] !== expected) badSignatures += 1;
        received.push(...(JSON.parse(body) as { events: Array<{ type: string; leadId?: string }> }).events);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const address = receiver.address() as { port: number };
    service = await startService({
      EVENTS_WEBHOOK_URL: `http://127.0.0.1:${address.port}/leadgraph-events`,
      EVENTS_WEBHOOK_SECRET: SECRET,
    });
  });
  afterAll(async () => {
    await service?.close();
    await new Promise((resolve) => receiver.close(resolve));
  });

  it("posts every event of a lead, signed, retrying a failed delivery", async () => {
    const res = await service.app.inject({
      method: "POST",
      url: "/webhooks/lead",
      payload: sampleLead(QUALIFIED_LEAD),
    });
    const { leadId } = res.json<{ leadId: string }>();
    await waitForStatus(service.runtime.store, leadId, DELIVERED);
    const deadline = Date.now() + 20_000;
    while (!received.some((e) => e.leadId === leadId && e.type === "lead.awaiting") && Date.now() < deadline)
      await sleep(50);
    const types = received.filter((e) => e.leadId === leadId).map((e) => e.type);
    expect(types[0]).toBe("lead.received");
    expect(types).toContain("lead.routed");
    // Delivered: the lead now waits for its owner.
    expect(types.at(-1)).toBe("lead.awaiting");
    expect(refusals).toBe(0);
    expect(badSignatures).toBe(0);
  });
});
