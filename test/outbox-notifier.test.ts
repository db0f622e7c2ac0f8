import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { OutboxNotifier } from "../tools/embedded/outbox-notifier.ts";
import type { Logger, OwnerMessage } from "../tools/ports.ts";
import { countingBatch } from "./helpers/counting-batch.ts";

function recordingLogger() {
  const lines: Array<{ level: string; obj: Record<string, unknown>; msg?: string }> = [];
  const at =
    (level: string) =>
    (obj: Record<string, unknown>, msg?: string): void => {
      lines.push({ level, obj, ...(msg === undefined ? {} : { msg }) });
    };
  const logger: Logger = { info: at("info"), warn: at("warn"), error: at("error"), debug: at("debug") };
  return { logger, lines };
}

const message: OwnerMessage = {
  leadId: "lead-1",
  ownerId: "ae-anna",
  ownerEmail: "anna@corp.test",
  text: "New hot lead: Jane Doe (Acme GmbH)",
  blocks: [{ type: "section", text: { type: "mrkdwn", text: "*Jane Doe* jane@acme.de" } }],
};

const clock = () => new Date("2025-03-04T10:00:00.000Z");

describe("OutboxNotifier", () => {
  let dir: string;
  let path: string;
  const open: DatabaseSync[] = [];
  const database = () => {
    const db = new DatabaseSync(path);
    db.exec("PRAGMA busy_timeout = 5000");
    open.push(db);
    return db;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "leadgraph-outbox-"));
    path = join(dir, "leadgraph.db");
  });

  afterEach(async () => {
    for (const db of open.splice(0)) db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("stores each message as a row with a fresh id", async () => {
    const { logger } = recordingLogger();
    const outbox = new OutboxNotifier({ db: database(), logger, clock });

    const first = await outbox.send(message);
    const second = await outbox.send({ ...message, leadId: "lead-2", channel: "#leads" });

    expect(first.channel).toBe("owner:ae-anna");
    expect(second.channel).toBe("#leads");
    expect(first.messageId).not.toBe(second.messageId);
    const records = await new OutboxNotifier({ db: database() }).records();
    expect(records).toEqual([
      {
        messageId: first.messageId,
        leadId: "lead-1",
        ownerId: "ae-anna",
        channel: "owner:ae-anna",
        text: message.text,
        blocks: message.blocks,
        edits: 0,
        at: "2025-03-04T10:00:00.000Z",
        updatedAt: "2025-03-04T10:00:00.000Z",
      },
      expect.objectContaining({ messageId: second.messageId, leadId: "lead-2" }),
    ]);
    // The owner's email is not stored.
    expect(JSON.stringify(database().prepare("SELECT * FROM outbox").all())).not.toContain("anna@corp.test");
  });

  it("edits the message, not a new one, when given the previous one", async () => {
    const outbox = new OutboxNotifier({ db: database(), clock });
    const first = await outbox.send(message);

    const again = await outbox.send({ ...message, text: "Updated" }, first);

    expect(again).toEqual(first);
    const records = await outbox.records();
    expect(records.map((r) => [r.messageId, r.text, r.edits])).toEqual([[first.messageId, "Updated", 1]]);
  });

  it("posts a message once per effect key, from any process, and finds it by that key", async () => {
    const a = new OutboxNotifier({ db: database() });
    const b = new OutboxNotifier({ db: database() });
    const keyed = { ...message, effectKey: "lead-1:notify" };
    const after = new Date(0);
    expect(await a.findPosted(keyed, after)).toBeNull();

    const first = await a.send(keyed);
    expect(await b.send({ ...keyed, text: "again" })).toEqual(first);
    expect(await b.findPosted(keyed, after)).toEqual(first);
    expect(await b.findPosted({ ...keyed, effectKey: "lead-2:notify" }, after)).toBeNull();
    expect((await a.records()).map((r) => [r.text, r.effectKey])).toEqual([[message.text, "lead-1:notify"]]);
  });

  it("logs one line per message with ids and channel only, no personal data", async () => {
    const { logger, lines } = recordingLogger();
    const outbox = new OutboxNotifier({ db: database(), logger });

    const posted = await outbox.send(message);

    expect(lines).toHaveLength(1);
    expect(lines[0]?.obj).toEqual({
      leadId: "lead-1",
      ownerId: "ae-anna",
      channel: "owner:ae-anna",
      messageId: posted.messageId,
      update: false,
    });
    const logged = JSON.stringify(lines);
    for (const secret of ["anna@corp.test", "jane@acme.de", "Jane Doe"]) expect(logged).not.toContain(secret);
  });

  it("keeps messages in a private in-memory table without a database", async () => {
    const outbox = new OutboxNotifier();
    const posted = await outbox.send({ ...message, ownerId: undefined });

    expect(posted.channel).toBe("outbox");
    expect(await outbox.records()).toEqual([expect.objectContaining({ messageId: posted.messageId })]);
  });

  it("two connections (two processes) write to the same outbox", async () => {
    const a = new OutboxNotifier({ db: database() });
    const b = new OutboxNotifier({ db: database() });

    await Promise.all([
      a.send(message),
      b.send({ ...message, leadId: "lead-2" }),
      a.send({ ...message, leadId: "lead-3" }),
    ]);

    expect((await b.records()).map((r) => r.leadId).sort()).toEqual(["lead-1", "lead-2", "lead-3"]);
  });

  it("deletes messages posted before a time (retention)", async () => {
    let now = new Date("2025-03-01T00:00:00.000Z");
    const outbox = new OutboxNotifier({ db: database(), clock: () => now });
    await outbox.send(message);
    now = new Date("2025-03-10T00:00:00.000Z");
    await outbox.send({ ...message, leadId: "lead-2" });
    expect(await outbox.deleteBefore(new Date("2025-03-05T00:00:00.000Z"))).toBe(1);
    expect((await outbox.records()).map((r) => r.leadId)).toEqual(["lead-2"]);
  });
});

describe("OutboxNotifier in the service's group commit", () => {
  it("posts and updates through the batch, and a repeat under the same key answers the first message", async () => {
    const { db, batch, runs, reader: open, close } = await countingBatch("outbox");
    try {
      const outbox = new OutboxNotifier({ db, batch, clock });
      const posted = await outbox.send({ ...message, effectKey: "lead-1:notify" });
      const repeat = await outbox.send({ ...message, effectKey: "lead-1:notify" });
      await outbox.send({ ...message, text: "Accepted by Anna" }, posted);
      expect(repeat).toEqual(posted);
      expect(runs()).toBe(3);
      const reader = open();
      expect(reader.prepare("SELECT text, edits FROM outbox").all()).toEqual([
        { text: "Accepted by Anna", edits: 1 },
      ]);
      expect(reader.prepare("SELECT count(*) AS n FROM outbox_updates").get()?.n).toBe(1);
      reader.close();
    } finally {
      await close();
    }
  });
});
