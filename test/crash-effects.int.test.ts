/**
 * The window between a vendor write and the ledger's record of it: a worker is SIGKILLed right after Slack or
 * HubSpot took the write (owner message, CRM note, CRM task) and before the ledger stored it.
 * The restarted worker is told the effect may exist, looks it up by its key (Slack message metadata in the
 * channel history, the note's or task's marker among the contact's) and
 * adopts it: one message, one note, one task. The official SDK clients run against loopback fakes. (The
 * stand-ins are idempotent by effect key on their own: test/local-crm.test.ts, test/outbox-notifier.test.ts;
 * the soak runs them through kills.)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATABASE_FILE } from "../app/runtime.ts";
import type { LeadStore } from "../store/lead-store.ts";
import { RedisLeadStore } from "../store/redis-lead-store.ts";
import { SqliteLeadStore } from "../store/sqlite-lead-store.ts";
import { HubSpotFake } from "./fakes/hubspot-fake.ts";
import { SlackFake } from "./fakes/slack-fake.ts";
import { DELIVERED, QUALIFIED_LEAD, sampleLead, waitForStatus } from "./helpers/app.ts";
import { startRedis, type TestRedis } from "./helpers/redis-server.ts";
import { ingest, logLines, startWorker, stopWorker, within } from "./helpers/workers.ts";

const CASE_TIMEOUT_MS = 300_000;
const KINDS = ["message", "note", "task"] as const;
type Kind = (typeof KINDS)[number];

let redis: TestRedis;
const dirs: string[] = [];
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Vendors {
  env: Record<string, string>;
  /** Writes of each kind the vendor holds for the lead. */
  count(leadId: string): { message: number; note: number; task: number };
  /** How many look-ups the vendor answered (the restarted worker's search for the write). */
  lookups(): number;
  close(): Promise<void>;
}

async function fakeVendors(kind: Kind): Promise<Vendors> {
  const slack = await SlackFake.start({ token: "xoxb-test" });
  slack.channels.add("#leads");
  const hubspot = await HubSpotFake.start({ token: "pat-test" });
  // The account the qualified sample lead belongs to, so it routes to its account owner as with the stand-ins.
  hubspot.addCompany({ name: "Bramblewick Logistics", domain: "bramblewick.com", hubspot_owner_id: "70006" });
  const marked = (body: string | undefined, leadId: string) =>
    (body ?? "").includes(`LeadGraph ref: ${leadId}:`);
  return {
    env: {
      SLACK_BOT_TOKEN: "xoxb-test",
      SLACK_API_URL: slack.url,
      SLACK_DEFAULT_CHANNEL: "#leads",
      HUBSPOT_ACCESS_TOKEN: "pat-test",
      HUBSPOT_BASE_PATH: hubspot.url,
    },
    count: (leadId) => ({
      message: slack.messages.filter((m) => m.metadata?.event_payload.leadId === leadId).length,
      note: hubspot.notes.filter((n) => marked(n.properties.hs_note_body, leadId)).length,
      task: hubspot.tasks.filter((t) => marked(t.properties.hs_task_body, leadId)).length,
    }),
    lookups: () =>
      kind === "message"
        ? slack.calls("conversations.history").length
        : hubspot.requestsTo("POST", `/crm/v3/objects/${kind}s/search`).length,
    close: async () => {
      await slack.close();
      await hubspot.close();
    },
  };
}

async function killBetweenWriteAndLedger(options: {
  kind: Kind;
  vendors: Vendors;
  envVars: Record<string, string>;
  dataDir: string;
  openStore: () => LeadStore;
}) {
  const { kind, vendors, dataDir } = options;
  const envVars = { ...options.envVars, ...vendors.env };
  const log = join(dataDir, "worker.log");
  const [leadId = ""] = await ingest(envVars, [sampleLead(QUALIFIED_LEAD)]);

  const first = startWorker(envVars, ["--kill-after-effect", kind, "--log", log]);
  const crashed = await within(first.exited, 120_000, `worker killed after the ${kind}`, first.child);
  expect(crashed.signal, crashed.stderr).toBe("SIGKILL");
  // The vendor has the write; the ledger never heard of it.
  expect(vendors.count(leadId)[kind]).toBe(1);
  const lookupsBefore = vendors.lookups();

  const store = options.openStore();
  const second = startWorker(envVars, ["--log", log]);
  try {
    const done = await within(
      waitForStatus(store, leadId, [...DELIVERED, "failed"], 120_000),
      125_000,
      "lead completion after restart",
      second.child,
    );
    expect(done.status, JSON.stringify(done.lastError)).toBe("awaiting");
  } finally {
    await stopWorker(second);
    await store.close();
  }
  expect(vendors.count(leadId)).toEqual({ message: 1, note: 1, task: 1 });
  // The restarted worker found the write instead of making it again.
  const writes = logLines(log).filter((l) => l === `effect ${kind} ${leadId}`);
  expect(writes).toHaveLength(1);
  expect(vendors.lookups()).toBeGreaterThan(lookupsBefore);
}

const CASES = [
  ...KINDS.map((kind, i) => ({ kind, profile: "embedded" as const, db: i + 1 })),
  ...KINDS.map((kind, i) => ({ kind, profile: "redis" as const, db: i + 4 })),
];

describe("SIGKILL between a vendor write and its ledger record", () => {
  it.concurrent.each(CASES)(
    "$profile profile: after the $kind",
    async ({ kind, profile, db }) => {
      const dataDir = mkdtempSync(join(tmpdir(), `leadgraph-effect-${kind}-`));
      dirs.push(dataDir);
      const vendors = await fakeVendors(kind);
      // One Redis database per case: the cases run at once and must not take each other's jobs.
      const url = `${redis.url}/${db}`;
      try {
        await killBetweenWriteAndLedger({
          kind,
          vendors,
          dataDir,
          envVars: profile === "redis" ? { DATA_DIR: dataDir, REDIS_URL: url } : { DATA_DIR: dataDir },
          openStore: () =>
            profile === "redis"
              ? new RedisLeadStore({ redis: url })
              : new SqliteLeadStore({ path: join(dataDir, DATABASE_FILE) }),
        });
      } finally {
        await vendors.close();
      }
    },
    CASE_TIMEOUT_MS,
  );
});
