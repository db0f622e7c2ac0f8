import { randomUUID } from "node:crypto";
import { type FileHandle, mkdir, open, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Block, Logger, Notifier, OwnerMessage, PostedMessage } from "../ports.ts";

export interface OutboxNotifierOptions {
  /** Directory of `outbox.jsonl`; messages stay in memory when absent. */
  dataDir?: string;
  logger?: Logger;
  clock?: () => Date;
}

/** One line of outbox.jsonl: a message, or a later edit of one (same messageId). */
export interface OutboxRecord {
  type: "message" | "update";
  messageId: string;
  leadId: string;
  ownerId?: string;
  channel: string;
  text: string;
  blocks: Block[];
  at: string;
}

/**
 * Reads an outbox file (tests, admin); skips a last line torn by a crash.
 * Returns [] when the file does not exist yet.
 */
export async function readOutbox(path: string): Promise<OutboxRecord[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const records: OutboxRecord[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      records.push(JSON.parse(line) as OutboxRecord);
    } catch {
      // torn by a crash mid-append
    }
  }
  return records;
}

/**
 * The embedded notifier: each owner message becomes a line in `<dataDir>/outbox.jsonl` (the
 * record an admin or a later sender reads) plus one log line. Message ids are UUIDs so two
 * processes on one directory never hand out the same id.
 */
export class OutboxNotifier implements Notifier {
  readonly name = "outbox";
  readonly #dataDir: string | undefined;
  readonly #path: string | undefined;
  readonly #logger: Logger | undefined;
  readonly #clock: () => Date;
  readonly #memory: OutboxRecord[] = [];
  #dirReady: Promise<void> | undefined;

  constructor(options: OutboxNotifierOptions = {}) {
    this.#dataDir = options.dataDir;
    this.#path = options.dataDir === undefined ? undefined : join(options.dataDir, "outbox.jsonl");
    this.#logger = options.logger;
    this.#clock = options.clock ?? (() => new Date());
  }

  /** The file the outbox writes, if any. */
  get path(): string | undefined {
    return this.#path;
  }

  async send(message: OwnerMessage, previous?: PostedMessage): Promise<PostedMessage> {
    const posted: PostedMessage = previous
      ? { ...previous }
      : {
          channel: message.channel ?? (message.ownerId ? `owner:${message.ownerId}` : "outbox"),
          messageId: randomUUID(),
        };
    // The owner's email is not kept: ownerId names the owner, and the outbox holds no more personal data than the text needs.
    const record: OutboxRecord = {
      type: previous ? "update" : "message",
      messageId: posted.messageId,
      leadId: message.leadId,
      ...(message.ownerId === undefined ? {} : { ownerId: message.ownerId }),
      channel: posted.channel,
      text: message.text,
      blocks: message.blocks,
      at: this.#clock().toISOString(),
    };
    if (this.#path === undefined) this.#memory.push(record);
    else await this.#append(this.#path, record);
    this.#logger?.info(
      {
        leadId: message.leadId,
        ownerId: message.ownerId,
        channel: posted.channel,
        messageId: posted.messageId,
        update: previous !== undefined,
      },
      "owner message written to outbox",
    );
    return posted;
  }

  /** Every record written by this instance (memory) or to the file (any process). */
  async records(): Promise<OutboxRecord[]> {
    return this.#path === undefined ? this.#memory.map((r) => ({ ...r })) : readOutbox(this.#path);
  }

  async #append(path: string, record: OutboxRecord): Promise<void> {
    this.#dirReady ??= this.#prepareDir().catch((err: unknown) => {
      this.#dirReady = undefined;
      throw err;
    });
    await this.#dirReady;
    const handle = await open(path, "a");
    try {
      await appendDurable(handle, `${JSON.stringify(record)}\n`);
    } finally {
      await handle.close();
    }
  }

  /** Creates the directory and file, and makes their directory entries durable. */
  async #prepareDir(): Promise<void> {
    if (this.#dataDir === undefined || this.#path === undefined) return;
    await mkdir(this.#dataDir, { recursive: true });
    const handle = await open(this.#path, "a+");
    try {
      const { size } = await handle.stat();
      if (size > 0) {
        const last = Buffer.alloc(1);
        await handle.read(last, 0, 1, size - 1);
        // A crash mid-append leaves a torn last line; end it so the next record starts clean.
        if (last[0] !== 0x0a) await appendDurable(handle, "\n");
      }
    } finally {
      await handle.close();
    }
    const dir = await open(this.#dataDir, "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

/**
 * One write(2) per record on an O_APPEND descriptor, then fdatasync: lines from two processes
 * never interleave, and a message is on disk before the graph records it as sent.
 */
async function appendDurable(handle: FileHandle, text: string): Promise<void> {
  const bytes = Buffer.from(text, "utf8");
  const { bytesWritten } = await handle.write(bytes, 0, bytes.length);
  if (bytesWritten !== bytes.length) throw new Error("outbox: short write to outbox.jsonl");
  await handle.datasync();
}
