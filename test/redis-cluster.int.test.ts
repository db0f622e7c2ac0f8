/**
 * The Redis profile on a real Redis Cluster: three masters on free loopback ports, made by
 * `redis-cli --cluster create`, reached through ioredis Cluster from one seed node (`REDIS_CLUSTER=true`).
 * The walk of test/redis-profile.int.test.ts (webhook → completed lead, one message, one contact; duplicates;
 * search; a failure and an admin retry through BullMQ; an admin delete) runs on it, with BullMQ under the
 * hash-tagged prefix `{lg:bull}`, the lead store under `{lg}` and each checkpoint thread under its own tag.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GraphDeps } from "../nodes/deps.ts";
import {
  countEffects,
  NURTURE_LEAD,
  QUALIFIED_LEAD,
  sampleLead,
  startService,
  type TestService,
  waitForStatus,
} from "./helpers/app.ts";
import { crmContactsFor, outboxMessagesFor } from "./helpers/outbox.ts";
import { startRedisCluster, type TestRedisCluster } from "./helpers/redis-nodes.ts";

const TOKEN = "admin-token-0123456789abcdef";
const auth = { authorization: `Bearer ${TOKEN}` };

let cluster: TestRedisCluster;
let service: TestService;
const effects = countEffects();
const notifier = { failing: false };

beforeAll(async () => {
  cluster = await startRedisCluster();
  service = await startService(
    { REDIS_URL: cluster.url, REDIS_CLUSTER: "true", ADMIN_TOKENS: TOKEN },
    {
      overrideDeps: (deps: GraphDeps) => {
        const counted = effects.override(deps);
        return {
          ...counted,
          notifier: {
            name: counted.notifier.name,
            findPosted: (message, after) => counted.notifier.findPosted(message, after),
            async send(message, previous) {
              if (notifier.failing) throw new Error("slack: ratelimited");
              return counted.notifier.send(message, previous);
            },
          },
        };
      },
    },
  );
}, 90_000);
afterAll(async () => {
  await service?.close();
  await cluster?.stop();
});

/** Which master holds `key`. */
async function holderOf(key: string): Promise<number> {
  const nodes = cluster.nodes();
  const slot = Number(await nodes[0]?.cluster("KEYSLOT", key));
  const found = await Promise.all(
    nodes.map(async (node) => Number(await node.cluster("COUNTKEYSINSLOT", slot))),
  );
  return found.findIndex((n) => n > 0);
}

function post(body: unknown) {
  return service.app.inject({ method: "POST", url: "/webhooks/lead", payload: body as object });
}

describe("Redis profile on a three-master Redis Cluster", () => {
  it("runs on the Redis adapters through the cluster", async () => {
    expect(service.runtime.profile).toBe("redis");
    expect(service.runtime.queue.name).toBe("bullmq");
    expect((await service.app.inject("/ready")).json()).toMatchObject({ status: "ready", store: "redis" });
    const infos = await Promise.all(cluster.nodes().map((n) => n.cluster("INFO") as Promise<string>));
    for (const info of infos) expect(info).toContain("cluster_known_nodes:3");
  });

  it("webhook → 202 → completed, one owner message, one CRM contact; a duplicate → 200", async () => {
    const res = await post(sampleLead(QUALIFIED_LEAD));
    expect(res.statusCode).toBe(202);
    const { leadId } = res.json<{ leadId: string }>();
    const lead = await waitForStatus(service.runtime.store, leadId, ["completed", "awaiting", "failed"]);
    expect(lead.status, JSON.stringify(lead.lastError)).not.toBe("failed");
    expect(lead.result).toMatchObject({ owner: "noah.williams", path: "qualified" });
    expect(effects.of(leadId)).toEqual({ messages: 1, messageUpdates: 0, contacts: 1 });
    expect(outboxMessagesFor(service.dataDir, leadId)).toBe(1);
    expect(crmContactsFor(service.dataDir, leadId)).toBe(1);
    const again = await post(sampleLead(QUALIFIED_LEAD));
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ leadId, duplicate: true });

    // The keys are where the prefixes put them: the lead store's and BullMQ's each in one slot, the
    // checkpoint thread in its own.
    expect(await holderOf(`{lg}:lead:${leadId}`)).toBeGreaterThanOrEqual(0);
    expect(await holderOf(`lg:cp:{${leadId}}:cp`)).toBeGreaterThanOrEqual(0);
    expect(await holderOf("{lg:bull}:leads:meta")).toBeGreaterThanOrEqual(0);
  });

  it("nurture path, search and 20 concurrent deliveries of one lead → one lead", async () => {
    const nurture = await post(sampleLead(NURTURE_LEAD));
    const nurtured = await waitForStatus(service.runtime.store, nurture.json().leadId, [
      "completed",
      "failed",
    ]);
    expect(nurtured.result).toMatchObject({ path: "nurture" });

    const payload = { ...sampleLead(QUALIFIED_LEAD), email: "burst.cluster@bramblewick.com" };
    const responses = await Promise.all(Array.from({ length: 20 }, () => post(payload)));
    expect(responses.filter((r) => r.statusCode === 202)).toHaveLength(1);
    const leadId = responses.find((r) => r.statusCode === 202)?.json<{ leadId: string }>().leadId ?? "";
    const lead = await waitForStatus(service.runtime.store, leadId, ["completed", "awaiting", "failed"]);
    expect(lead.attempts).toBe(1);
    expect(effects.of(leadId)).toEqual({ messages: 1, messageUpdates: 0, contacts: 1 });

    const found = await service.app.inject({
      url: "/admin/leads?q=burst.cluster@bramblewick.com",
      headers: auth,
    });
    expect(found.json().leads.map((l: { leadId: string }) => l.leadId)).toEqual([leadId]);
  });

  it("a failure through BullMQ, then an admin retry resumes there; an admin delete removes the lead", async () => {
    notifier.failing = true;
    const res = await post({ ...sampleLead(QUALIFIED_LEAD), email: "ratelimited.cluster@bramblewick.com" });
    const { leadId } = res.json<{ leadId: string }>();
    const failed = await waitForStatus(service.runtime.store, leadId, ["failed"], 30_000);
    expect(failed.lastError).toMatchObject({ node: "notifyOwner" });
    notifier.failing = false;
    const retry = await service.app.inject({
      method: "POST",
      url: `/admin/leads/${leadId}/retry`,
      headers: auth,
    });
    expect(retry.statusCode).toBe(202);
    const done = await waitForStatus(
      service.runtime.store,
      leadId,
      ["completed", "awaiting", "failed"],
      30_000,
    );
    expect(done.status).not.toBe("failed");
    expect(effects.of(leadId).messages).toBe(1);

    if (done.status === "completed") {
      const deleted = await service.app.inject({
        method: "DELETE",
        url: `/admin/leads/${leadId}`,
        headers: auth,
      });
      expect(deleted.statusCode).toBe(204);
      expect(await service.runtime.store.getLead(leadId)).toBeNull();
    }
  });
});
