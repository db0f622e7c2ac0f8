import { DatabaseSync, type SQLOutputValue } from "node:sqlite";
import { timeOrderedId } from "../ids.ts";
import type { Block, Logger, Notifier, OwnerMessage, PostedMessage } from "../ports.ts";
import { type WriteBatch, writeIn } from "./sqlite-writes.ts";

export interface OutboxNotifierOptions {
  /**
   * The database holding the `outbox` table (the embedded profile's own `leadgraph.db`, shared with other
   * processes through SQLite's locking); a private in-memory one when absent. The outbox never closes it.
   */
  db?: DatabaseSync;
  /** The service's group commit on `db` (tools/embedded/sqlite-writes.ts); writes commit at once without it. */
  batch?: WriteBatch;
  logger?: Logger;
  clock?: () => Date;
}

/** One owner message as the outbox keeps it: the latest content, and how often it was edited. */
export interface OutboxRecord {
  messageId: string;
  leadId: string;
  /** The ledger key it was posted under, if any. */
  effectKey?: string;
  ownerId?: string;
  channel: string;
  /** A reply: the message whose thread it is in. */
  thread?: string;
  text: string;
  blocks: Block[];
  /** Updates since it was posted. */
  edits: number;
  /** ISO time it was posted. */
  at: string;
  updatedAt: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY,
  message_id TEXT NOT NULL UNIQUE,
  lead_id TEXT NOT NULL,
  effect_key TEXT UNIQUE,
  owner_id TEXT,
  channel TEXT NOT NULL,
  thread TEXT,
  text TEXT NOT NULL,
  blocks TEXT NOT NULL,
  edits INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS outbox_lead ON outbox (lead_id);
CREATE INDEX IF NOT EXISTS outbox_created ON outbox (created_at);
CREATE TABLE IF NOT EXISTS outbox_updates (
  seq INTEGER PRIMARY KEY,
  message_id TEXT NOT NULL,
  lead_id TEXT NOT NULL,
  text TEXT NOT NULL,
  blocks TEXT NOT NULL,
  at TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS outbox_updates_lead ON outbox_updates (lead_id);
`;

const COLUMNS =
  "message_id, lead_id, effect_key, owner_id, channel, thread, text, blocks, edits, created_at, updated_at";

/** Adds the `thread` column to an outbox table created before replies existed. */
function addThreadColumn(db: DatabaseSync): void {
  const columns = db.prepare("SELECT name FROM pragma_table_info('outbox')").all();
  if (columns.some((c) => c.name === "thread")) return;
  try {
    db.exec("ALTER TABLE outbox ADD COLUMN thread TEXT");
  } catch (err) {
    // Another process sharing the database added it first.
    if (!String(err).includes("duplicate column")) throw err;
  }
}

/**
 * The embedded notifier: each owner message becomes a row of the `outbox` table (the record an admin or a
 * later sender reads) plus one log line. Message ids are UUIDs, so processes sharing the database never hand
 * out the same id; a message posted under a ledger key is unique by it, so posting it again returns the
 * first (the outbox is idempotent by effect key).
 */
export class OutboxNotifier implements Notifier {
  readonly name = "outbox";
  readonly #logger: Logger | undefined;
  readonly #clock: () => Date;
  readonly #batch: WriteBatch | undefined;
  readonly #sql;

  constructor(options: OutboxNotifierOptions = {}) {
    const db = options.db ?? new DatabaseSync(":memory:");
    db.exec(SCHEMA);
    addThreadColumn(db);
    this.#sql = {
      insert: db.prepare(
        `INSERT INTO outbox (message_id, lead_id, effect_key, owner_id, channel, thread, text, blocks, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?9, ?6, ?7, ?8, ?8) ON CONFLICT (effect_key) DO NOTHING`,
      ),
      update: db.prepare(
        "UPDATE outbox SET text = ?, blocks = ?, edits = edits + 1, updated_at = ? WHERE message_id = ?",
      ),
      // Every update as it was sent (the owner loop's outcomes, a retried message), not only the latest.
      recordUpdate: db.prepare(
        "INSERT INTO outbox_updates (message_id, lead_id, text, blocks, at) VALUES (?, ?, ?, ?, ?)",
      ),
      byKey: db.prepare(`SELECT ${COLUMNS} FROM outbox WHERE effect_key = ?`),
      all: db.prepare(`SELECT ${COLUMNS} FROM outbox ORDER BY seq`),
      deleteBefore: db.prepare("DELETE FROM outbox WHERE created_at < ?"),
    };
    this.#logger = options.logger;
    this.#clock = options.clock ?? (() => new Date());
    this.#batch = options.batch;
  }

  async send(message: OwnerMessage, previous?: PostedMessage): Promise<PostedMessage> {
    const at = this.#clock().toISOString();
    let posted: PostedMessage;
    if (previous) {
      posted = { ...previous };
      const blocks = JSON.stringify(message.blocks);
      await writeIn(this.#batch, () => {
        this.#sql.update.run(message.text, blocks, at, previous.messageId);
        this.#sql.recordUpdate.run(previous.messageId, message.leadId, message.text, blocks, at);
      });
    } else {
      posted = {
        channel:
          message.thread?.channel ??
          message.channel ??
          (message.ownerId ? `owner:${message.ownerId}` : "outbox"),
        messageId: timeOrderedId(),
      };
      // The owner's email is not kept: ownerId names the owner, and the outbox holds no more personal data than the text needs.
      const { messageId, channel } = posted;
      const { changes } = await writeIn(this.#batch, () =>
        this.#sql.insert.run(
          messageId,
          message.leadId,
          message.effectKey ?? null,
          message.ownerId ?? null,
          channel,
          message.text,
          JSON.stringify(message.blocks),
          at,
          message.thread?.messageId ?? null,
        ),
      );
      if (Number(changes) === 0 && message.effectKey) {
        const first = this.#byKey(message.effectKey);
        if (first) return first;
      }
    }
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

  async findPosted(message: OwnerMessage, _after: Date): Promise<PostedMessage | null> {
    return message.effectKey ? this.#byKey(message.effectKey) : null;
  }

  /** Every message in the table, oldest first (any process's). */
  async records(): Promise<OutboxRecord[]> {
    return this.#sql.all.all().map(toRecord);
  }

  /** Retention: deletes messages posted before `before`; returns how many. */
  async deleteBefore(before: Date): Promise<number> {
    return Number(this.#sql.deleteBefore.run(before.toISOString()).changes);
  }

  #byKey(effectKey: string): PostedMessage | null {
    const row = this.#sql.byKey.get(effectKey);
    return row ? { channel: String(row.channel), messageId: String(row.message_id) } : null;
  }
}

function toRecord(row: Record<string, SQLOutputValue>): OutboxRecord {
  const record: OutboxRecord = {
    messageId: String(row.message_id),
    leadId: String(row.lead_id),
    channel: String(row.channel),
    text: String(row.text),
    blocks: JSON.parse(String(row.blocks)) as Block[],
    edits: Number(row.edits),
    at: String(row.created_at),
    updatedAt: String(row.updated_at),
  };
  if (row.effect_key != null) record.effectKey = String(row.effect_key);
  if (row.owner_id != null) record.ownerId = String(row.owner_id);
  if (row.thread != null) record.thread = String(row.thread);
  return record;
}
