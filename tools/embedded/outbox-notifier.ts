import { randomUUID } from "node:crypto";
import type { Block, Logger, Notifier, OwnerMessage, PostedMessage } from "../ports.ts";
import { JsonlFile, readJsonLines } from "./jsonl-file.ts";

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
export function readOutbox(path: string): Promise<OutboxRecord[]> {
  return readJsonLines<OutboxRecord>(path);
}

/**
 * The embedded notifier: each owner message becomes a line in `<dataDir>/outbox.jsonl` (the
 * record an admin or a later sender reads) plus one log line. Message ids are UUIDs so two
 * processes on one directory never hand out the same id.
 */
export class OutboxNotifier implements Notifier {
  readonly name = "outbox";
  readonly #file: JsonlFile<OutboxRecord> | undefined;
  readonly #logger: Logger | undefined;
  readonly #clock: () => Date;
  readonly #memory: OutboxRecord[] = [];
  #fileReady: Promise<void> | undefined;

  constructor(options: OutboxNotifierOptions = {}) {
    this.#file =
      options.dataDir === undefined ? undefined : new JsonlFile(options.dataDir, "outbox.jsonl", "outbox");
    this.#logger = options.logger;
    this.#clock = options.clock ?? (() => new Date());
  }

  /** The file the outbox writes, if any. */
  get path(): string | undefined {
    return this.#file?.path;
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
    if (this.#file === undefined) this.#memory.push(record);
    else await this.#append(this.#file, record);
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
    return this.#file === undefined ? this.#memory.map((r) => ({ ...r })) : this.#file.readAll();
  }

  async #append(file: JsonlFile<OutboxRecord>, record: OutboxRecord): Promise<void> {
    // Prepared once per instance; a failed preparation is tried again by the next message.
    this.#fileReady ??= file.prepare().catch((err: unknown) => {
      this.#fileReady = undefined;
      throw err;
    });
    await this.#fileReady;
    await file.append(record);
  }
}
