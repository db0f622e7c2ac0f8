/**
 * The Redis profile across a Redis restart: the test's own redis-server runs with AOF on
 * (`--appendonly yes --appendfsync always`). Right after the owner's message is posted, before the ledger has
 * recorded it, the server is killed by its PID (SIGKILL: nothing written on the way out) and started again a
 * moment later on the same port and directory, where it reloads its append-only file. The walk completes:
 * webhook → completed lead, exactly one owner message, one CRM contact, and the leads stored before the
 * restart are all still there.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GraphDeps } from "../nodes/deps.ts";
import {
  countEffects,
  QUALIFIED_LEAD,
  sampleLead,
  startService,
  type TestService,
  waitForStatus,
} from "./helpers/app.ts";
import { crmContactsFor, outboxMessagesFor } from "./helpers/outbox.ts";
import { type RestartableRedis, startAofRedis } from "./helpers/redis-nodes.ts";

let redis: RestartableRedis;
let service: TestService;
const effects = countEffects();
const outage = { armed: false, restarted: undefined as Promise<void> | undefined, pids: [] as number[] };

beforeAll(async () => {
  redis = await startAofRedis({ appendfsync: "always" });
  service = await startService(
    { REDIS_URL: redis.url },
    {
      // Runs that fail while Redis is away are retried, and a job whose lock lapsed is taken back soon.
      queue: {
        attempts: 10,
        backoffMs: 200,
        pollMs: 20,
        leaseMs: 2000,
        stalledIntervalMs: 500,
        maxStalledCount: 50,
      },
      reconcileIntervalMs: 1000,
      ledgerLeaseMs: 2000,
      overrideDeps: (deps: GraphDeps) => {
        const counted = effects.override(deps);
        return {
          ...counted,
          notifier: {
            name: counted.notifier.name,
            findPosted: (message, after) => counted.notifier.findPosted(message, after),
            async send(message, previous) {
              const posted = await counted.notifier.send(message, previous);
              if (outage.armed) {
                // The vendor has the message; Redis goes before the ledger can record it.
                outage.armed = false;
                outage.pids.push(redis.pid() ?? -1);
                await redis.kill("SIGKILL");
                outage.restarted = sleep(1500).then(() => redis.start());
              }
              return posted;
            },
          },
        };
      },
    },
  );
}, 60_000);
afterAll(async () => {
  await outage.restarted?.catch(() => undefined);
  await service?.close();
  await redis?.stop();
});

describe("Redis profile across a Redis restart (AOF on)", () => {
  it("a server killed mid-run and started again: the lead completes with one message and one contact", async () => {
    const before = await service.app.inject({
      method: "POST",
      url: "/webhooks/lead",
      payload: { ...sampleLead(QUALIFIED_LEAD), email: "before.restart@bramblewick.com" },
    });
    const earlier = before.json<{ leadId: string }>().leadId;
    await waitForStatus(service.runtime.store, earlier, ["completed", "awaiting", "failed"]);

    outage.armed = true;
    const res = await service.app.inject({
      method: "POST",
      url: "/webhooks/lead",
      payload: sampleLead(QUALIFIED_LEAD),
    });
    expect(res.statusCode).toBe(202);
    const { leadId } = res.json<{ leadId: string }>();

    // The restart happened, by PID, and the server came back on the same port with its data.
    const deadline = Date.now() + 30_000;
    while (outage.restarted === undefined && Date.now() < deadline) await sleep(20);
    expect(outage.restarted).toBeDefined();
    await outage.restarted;
    expect(redis.pid()).not.toBe(outage.pids[0]);

    const lead = await waitForStatus(
      service.runtime.store,
      leadId,
      ["completed", "awaiting", "failed"],
      90_000,
    );
    expect(lead.status, JSON.stringify(lead.lastError)).not.toBe("failed");
    expect(lead.result).toMatchObject({ owner: "noah.williams", path: "qualified" });
    expect(effects.of(leadId).messages).toBe(1);
    expect(outboxMessagesFor(service.dataDir, leadId)).toBe(1);
    expect(crmContactsFor(service.dataDir, leadId)).toBe(1);
    // The lead taken in before the restart survived it.
    expect((await service.runtime.store.getLead(earlier))?.status).not.toBeUndefined();
  }, 150_000);
});
