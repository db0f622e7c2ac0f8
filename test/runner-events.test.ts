/**
 * The runner's lead events, from LangGraph's own stream modes: a lead's run as an async iterator (node
 * started/finished with durations, route, completed or failed), the same events to subscribers, and the
 * node timing wrapper on its own.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LeadEvent, type NodeProgress, timed } from "../graph/events.ts";
import type { GraphDeps } from "../nodes/deps.ts";
import { NURTURE_LEAD, QUALIFIED_LEAD, sampleLead, startService, type TestService } from "./helpers/app.ts";

async function drain(
  events: AsyncGenerator<LeadEvent, unknown>,
): Promise<{ events: LeadEvent[]; error?: Error }> {
  const seen: LeadEvent[] = [];
  try {
    for await (const event of events) seen.push(event);
    return { events: seen };
  } catch (err) {
    return { events: seen, error: err as Error };
  }
}

describe("runner.stream", () => {
  let service: TestService;
  const notifier = { failing: false };
  const subscribed: LeadEvent[] = [];

  beforeAll(async () => {
    // No worker: the test drives each run itself through runner.stream.
    service = await startService(
      {},
      {
        worker: false,
        overrideDeps: (deps: GraphDeps): GraphDeps => ({
          ...deps,
          notifier: {
            name: "switchable",
            findPosted: (message, after) => deps.notifier.findPosted(message, after),
            send: (message, previous) =>
              notifier.failing
                ? Promise.reject(new Error("channel_not_found"))
                : deps.notifier.send(message, previous),
          },
        }),
      },
    );
    service.runtime.subscribe((event) => subscribed.push(event));
  });
  afterAll(async () => {
    await service.close();
  });

  async function stored(payload: Record<string, unknown>): Promise<string> {
    const accepted = await service.runtime.service.accept({ body: payload });
    if (!accepted.ok) throw new Error(accepted.message);
    return accepted.leadId;
  }

  it("yields each node's start and finish in graph order, the route, then awaiting its owner", async () => {
    const leadId = await stored(sampleLead(QUALIFIED_LEAD));
    const { events, error } = await drain(service.runtime.runner.stream(leadId));
    expect(error).toBeUndefined();
    expect(events[0]).toMatchObject({ type: "run.started", leadId, attempt: 1 });
    const finished = events.filter((e) => e.type === "node.finished").map((e) => e.node);
    expect(finished).toEqual([
      "capture",
      "enrich",
      "scoreLead",
      "routeLead",
      "summarize",
      "notifyOwner",
      "syncCrm",
    ]);
    for (const node of finished) {
      const start = events.findIndex((e) => e.type === "node.started" && e.node === node);
      const end = events.findIndex((e) => e.type === "node.finished" && e.node === node);
      expect(start).toBeGreaterThan(-1);
      expect(start).toBeLessThan(end);
    }
    for (const e of events) if (e.type === "node.finished") expect(e.durationMs).toBeGreaterThanOrEqual(0);
    const routed = events.find((e) => e.type === "lead.routed");
    expect(routed).toMatchObject({ path: "qualified", rule: expect.any(String) });
    expect(events.some((e) => e.type === "lead.notified")).toBe(true);
    // Delivered: the lead waits in awaitOwner's interrupt for its owner (not a finished step).
    expect(events.at(-1)).toMatchObject({ type: "lead.awaiting", leadId, round: 0, waitingFor: "owner" });
    expect(events.some((e) => e.type === "node.started" && e.node === "awaitOwner")).toBe(true);

    // The stored timeline is the same steps, in the same order, with the same durations.
    const lead = await service.runtime.store.getLead(leadId);
    expect(lead?.status).toBe("awaiting");
    expect(lead?.timeline.map((t) => t.node)).toEqual(finished);
    const durations = events.flatMap((e) => (e.type === "node.finished" ? [e.durationMs] : []));
    expect(lead?.timeline.map((t) => t.durationMs)).toEqual(durations);
  });

  it("takes the nurture branch without a message", async () => {
    const leadId = await stored(sampleLead(NURTURE_LEAD));
    const { events } = await drain(service.runtime.runner.stream(leadId));
    const finished = events.filter((e) => e.type === "node.finished").map((e) => e.node);
    expect(finished).toEqual(["capture", "enrich", "scoreLead", "routeLead", "nurtureLead", "syncCrm"]);
    expect(events.some((e) => e.type === "lead.notified")).toBe(false);
    expect(events.at(-1)).toMatchObject({ type: "lead.completed", path: "nurture" });
  });

  it("yields the failing node and the failure, then throws; a resumed run starts at that node", async () => {
    const leadId = await stored({ ...sampleLead(QUALIFIED_LEAD), email: "resume.me@bramblewick.com" });
    notifier.failing = true;
    const first = await drain(service.runtime.runner.stream(leadId));
    expect(first.error?.message).toMatch(/notifyOwner: channel_not_found|channel_not_found/);
    expect(first.events).toContainEqual(
      expect.objectContaining({ type: "node.failed", node: "notifyOwner", error: "channel_not_found" }),
    );
    expect(first.events.at(-1)).toMatchObject({ type: "lead.failed", node: "notifyOwner" });

    notifier.failing = false;
    const second = await drain(service.runtime.runner.stream(leadId));
    expect(second.error).toBeUndefined();
    expect(second.events[0]).toMatchObject({ type: "run.started", attempt: 2, resumeAt: ["notifyOwner"] });
    expect(second.events.filter((e) => e.type === "node.finished").map((e) => e.node)).toEqual([
      "notifyOwner",
      "syncCrm",
    ]);
  });

  it("hands every event to subscribers as well", async () => {
    const leadId = await stored({ ...sampleLead(QUALIFIED_LEAD), email: "subscriber@northwind-example.com" });
    const before = subscribed.length;
    const { events } = await drain(service.runtime.runner.stream(leadId));
    expect(subscribed.slice(before)).toEqual(events);
  });

  it("ignores a timer or action that outlived its lead (deleted by retention or an admin)", async () => {
    const outcome = await service.runtime.runner.resume("0b9e5c1e-0000-4000-8000-000000000000", {
      jobId: "sla:0b9e5c1e-0000-4000-8000-000000000000:0",
      value: { type: "timer", round: 0 },
    });
    expect(outcome).toBe("stale");
  });
});

describe("timed", () => {
  it("writes start and end with the duration to the custom stream, and passes the update through", async () => {
    const written: NodeProgress[] = [];
    const node = timed("scoreLead", async () => ({ warnings: [] }));
    const update = await node({} as never, {
      writer: (chunk: unknown) => written.push(chunk as NodeProgress),
    });
    expect(update).toEqual({ warnings: [] });
    expect(written.map((w) => w.phase)).toEqual(["start", "end"]);
    expect(written[1]?.durationMs).toBeGreaterThanOrEqual(0);
    expect(written.every((w) => w.node === "scoreLead" && w.kind === "leadgraph.node")).toBe(true);
  });

  it("writes an error phase with the message and rethrows", async () => {
    const written: NodeProgress[] = [];
    const node = timed("syncCrm", async () => {
      throw new Error("crm down");
    });
    await expect(
      node({} as never, { writer: (chunk: unknown) => written.push(chunk as NodeProgress) }),
    ).rejects.toThrow("crm down");
    expect(written.map((w) => [w.phase, w.error])).toEqual([
      ["start", undefined],
      ["error", "crm down"],
    ]);
  });

  it("only calls the node when the run streams no custom events", async () => {
    const node = timed("capture", async () => ({ errors: [] }));
    expect(await node({} as never, {})).toEqual({ errors: [] });
  });
});
