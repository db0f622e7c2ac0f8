import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { OutboxNotifier, readOutbox } from "../tools/embedded/outbox-notifier.ts";
import type { Logger, OwnerMessage } from "../tools/ports.ts";

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

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "leadgraph-outbox-"));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("appends each message as a JSON line with a fresh id", async () => {
    const { logger } = recordingLogger();
    const outbox = new OutboxNotifier({ dataDir: dir, logger, clock });

    const first = await outbox.send(message);
    const second = await outbox.send({ ...message, leadId: "lead-2", channel: "#leads" });

    expect(first.channel).toBe("owner:ae-anna");
    expect(second.channel).toBe("#leads");
    expect(first.messageId).not.toBe(second.messageId);
    const records = await readOutbox(join(dir, "outbox.jsonl"));
    expect(records).toEqual([
      {
        type: "message",
        messageId: first.messageId,
        leadId: "lead-1",
        ownerId: "ae-anna",
        channel: "owner:ae-anna",
        text: message.text,
        blocks: message.blocks,
        at: "2025-03-04T10:00:00.000Z",
      },
      expect.objectContaining({ type: "message", messageId: second.messageId, leadId: "lead-2" }),
    ]);
    // The owner's email is not stored.
    expect(await readFile(join(dir, "outbox.jsonl"), "utf8")).not.toContain("anna@corp.test");
  });

  it("records an update, not a new message, when given the previous one", async () => {
    const outbox = new OutboxNotifier({ dataDir: dir, clock });
    const first = await outbox.send(message);

    const again = await outbox.send({ ...message, text: "Updated" }, first);

    expect(again).toEqual(first);
    const records = await outbox.records();
    expect(records.map((r) => [r.type, r.messageId, r.text])).toEqual([
      ["message", first.messageId, message.text],
      ["update", first.messageId, "Updated"],
    ]);
  });

  it("logs one line per message with ids and channel only, no personal data", async () => {
    const { logger, lines } = recordingLogger();
    const outbox = new OutboxNotifier({ dataDir: dir, logger });

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

  it("keeps messages in memory without a data directory", async () => {
    const outbox = new OutboxNotifier();
    const posted = await outbox.send({ ...message, ownerId: undefined });

    expect(posted.channel).toBe("outbox");
    expect(await outbox.records()).toEqual([expect.objectContaining({ messageId: posted.messageId })]);
  });

  it("two instances on one directory append to the same outbox", async () => {
    const a = new OutboxNotifier({ dataDir: dir });
    const b = new OutboxNotifier({ dataDir: dir });

    await Promise.all([
      a.send(message),
      b.send({ ...message, leadId: "lead-2" }),
      a.send({ ...message, leadId: "lead-3" }),
    ]);

    expect((await readOutbox(join(dir, "outbox.jsonl"))).map((r) => r.leadId).sort()).toEqual([
      "lead-1",
      "lead-2",
      "lead-3",
    ]);
  });

  it("survives a line torn by a crash", async () => {
    const path = join(dir, "outbox.jsonl");
    await writeFile(path, '{"type":"message","messageId":"m-1","lea');

    await new OutboxNotifier({ dataDir: dir }).send(message);

    expect((await readOutbox(path)).map((r) => r.leadId)).toEqual(["lead-1"]);
  });

  it("reads a missing outbox as empty", async () => {
    expect(await readOutbox(join(dir, "nope.jsonl"))).toEqual([]);
  });
});
