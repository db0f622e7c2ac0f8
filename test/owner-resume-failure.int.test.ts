/**
 * A resume job (an owner's action, an SLA timer) that fails for good before it decides its wait must not
 * leave the wait undecidable, in both profiles: a later action of the same round still decides it, whether
 * the job that failed was an action (same job id, queued again) or the round's timer (its claim on the round
 * is marked failed and passes on). The failure is the store refusing to read the lead's checkpoint while
 * the resume starts, the way an outage of the lead store would.
 */
import type { BaseCheckpointSaver } from "@langchain/langgraph";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sampleLead, startService, type TestService, waitForStatus } from "./helpers/app.ts";
import { PROFILES, postJson, profileEnv } from "./helpers/profiles.ts";
import { startRedis, type TestRedis } from "./helpers/redis-server.ts";

let redis: TestRedis | undefined;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** Threads whose checkpoint cannot be read while they are in the set, and how often a read was refused. */
const broken = new Set<string>();
const refused = new Map<string, number>();

function breakable(saver: BaseCheckpointSaver): BaseCheckpointSaver {
  return new Proxy(saver, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      if (prop !== "getTuple") return value.bind(target);
      return (config: { configurable?: { thread_id?: string } }) => {
        const thread = config.configurable?.thread_id;
        if (thread && broken.has(thread)) {
          refused.set(thread, (refused.get(thread) ?? 0) + 1);
          return Promise.reject(new Error("the lead store is unreachable"));
        }
        return value.call(target, config);
      };
    },
  });
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} did not happen`);
}

describe.each(PROFILES)("a resume that fails for good, %s profile", (profile) => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService(profileEnv(profile, redis, 7), { instrumentCheckpointer: breakable });
  });
  afterAll(async () => {
    await service.close();
  });

  async function waiting(): Promise<string> {
    const email = String(sampleLead("L010").email);
    const res = await postJson(service, {
      ...sampleLead("L010"),
      email: `${profile}-${Math.random().toString(36).slice(2)}@${email.split("@")[1]}`,
    });
    expect(res.statusCode).toBe(202);
    const { leadId } = res.json() as { leadId: string };
    await waitForStatus(service.runtime.store, leadId, ["awaiting"]);
    return leadId;
  }

  const accept = (leadId: string) =>
    service.runtime.service.act(leadId, { action: "accept", by: "ethan", via: "admin" });
  /** The resume job `jobId` ran into the refused read and failed for good (FAST_QUEUE: one attempt). */
  const failedForGood = async (leadId: string, jobId: string) =>
    (refused.get(leadId) ?? 0) > 0 && (await service.runtime.queue.inspect(jobId))?.state === "failed";

  it("an action that failed for good: the owner's next action decides the wait", async () => {
    const leadId = await waiting();
    broken.add(leadId);
    expect(await accept(leadId)).toEqual({ ok: true, queued: true });
    await until(() => failedForGood(leadId, `act:${leadId}:0`), "the action's failure");
    broken.delete(leadId);
    expect((await service.runtime.store.getLead(leadId))?.status).toBe("awaiting");

    expect(await accept(leadId)).toEqual({ ok: true, queued: true });
    const done = await waitForStatus(service.runtime.store, leadId, ["completed", "failed"]);
    expect(done.status).toBe("completed");
    expect(done.result).toMatchObject({ ownership: { status: "accepted", decidedBy: "ethan" } });
  });

  it("the round's timer that failed for good: the owner's action still decides the wait", async () => {
    const leadId = await waiting();
    broken.add(leadId);
    await service.runtime.queue.enqueueResume({
      leadId,
      jobId: `sla:${leadId}:0`,
      value: { type: "timer", round: 0, at: new Date().toISOString() },
    });
    await until(() => failedForGood(leadId, `sla:${leadId}:0`), "the timer's failure");
    broken.delete(leadId);

    expect(await accept(leadId)).toEqual({ ok: true, queued: true });
    const done = await waitForStatus(service.runtime.store, leadId, ["completed", "failed"]);
    expect(done.status).toBe("completed");
    expect(done.result).toMatchObject({ ownership: { status: "accepted", decidedBy: "ethan" } });
  });
});
