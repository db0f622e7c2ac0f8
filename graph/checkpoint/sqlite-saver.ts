/**
 * The embedded checkpointer (docs/architecture.md, "Ports and adapters"): LangGraph checkpoints in SQLite through `node:sqlite`.
 *
 * Channel values live apart from checkpoints, once per (channel, version), so a step stores only the
 * channels it changed; a checkpoint is rebuilt by joining its `channel_versions` onto the blobs. Steps
 * write plainly: most of what they write is deleted when the finished thread is pruned, so deflating it
 * would spend CPU on every step for bytes that do not last. `prune` deflates the long values it keeps,
 * their type column saying so (`compressTyped`); reads take either form.
 *
 * Over 300 lines because it is one storage layout (tables, statements, prune) that only reads right whole; the checkpointer conformance suite tests it as one unit.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import type { RunnableConfig } from "@langchain/core/runnables";
import {
  BaseCheckpointSaver,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointPendingWrite,
  type CheckpointTuple,
  getCheckpointId,
  type PendingWrite,
  type SerializerProtocol,
  TASKS,
} from "@langchain/langgraph-checkpoint";
import type { SqliteBatch } from "../../store/sqlite-batch.ts";
import {
  COMPRESS_MIN_BYTES,
  compressTyped,
  decompressTyped,
  dumpCheckpoint,
  dumpWrites,
  matchesFilter,
  namespaceOf,
  nextChannelVersion,
  nonEmptyString,
  replacesStoredWrite,
  requireThreadId,
  restorePendingSends,
  threadIdOf,
  writesTarget,
} from "./common.ts";
import { FastJsonSerializer } from "./serde.ts";
import { keepLastOf, type PrunableSaver, type PruneOptions } from "./types.ts";

// Own table names: the official SQLite saver's `checkpoints` table has another shape.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS lg_checkpoints (
  thread_id TEXT NOT NULL,
  checkpoint_ns TEXT NOT NULL,
  checkpoint_id TEXT NOT NULL,
  parent_checkpoint_id TEXT,
  type TEXT NOT NULL,
  checkpoint BLOB NOT NULL,
  metadata_type TEXT NOT NULL,
  metadata BLOB NOT NULL,
  -- JSON object of channel -> version string, so SQL alone can find the blobs a checkpoint uses.
  channel_versions TEXT NOT NULL,
  PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)
);
CREATE TABLE IF NOT EXISTS lg_checkpoint_blobs (
  thread_id TEXT NOT NULL,
  checkpoint_ns TEXT NOT NULL,
  channel TEXT NOT NULL,
  version TEXT NOT NULL,
  type TEXT NOT NULL,
  blob BLOB,
  PRIMARY KEY (thread_id, checkpoint_ns, channel, version)
);
CREATE TABLE IF NOT EXISTS lg_checkpoint_writes (
  thread_id TEXT NOT NULL,
  checkpoint_ns TEXT NOT NULL,
  checkpoint_id TEXT NOT NULL,
  task_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  channel TEXT NOT NULL,
  type TEXT NOT NULL,
  blob BLOB NOT NULL,
  PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
);
`;

const CHECKPOINT_COLUMNS =
  "thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata_type, metadata";

const SQL = {
  insertBlob: `INSERT OR IGNORE INTO lg_checkpoint_blobs
    (thread_id, checkpoint_ns, channel, version, type, blob) VALUES (?, ?, ?, ?, ?, ?)`,
  upsertCheckpoint: `INSERT OR REPLACE INTO lg_checkpoints
    (${CHECKPOINT_COLUMNS}, channel_versions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  insertWrite: `INSERT OR IGNORE INTO lg_checkpoint_writes
    (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  replaceWrite: `INSERT OR REPLACE INTO lg_checkpoint_writes
    (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  selectCheckpoint: `SELECT ${CHECKPOINT_COLUMNS} FROM lg_checkpoints
    WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?`,
  selectLatest: `SELECT ${CHECKPOINT_COLUMNS} FROM lg_checkpoints
    WHERE thread_id = ? AND checkpoint_ns = ? ORDER BY checkpoint_id DESC LIMIT 1`,
  selectBlobs: `SELECT b.channel, b.type, b.blob
    FROM lg_checkpoints AS c, json_each(c.channel_versions) AS v
    JOIN lg_checkpoint_blobs AS b
      ON b.thread_id = c.thread_id AND b.checkpoint_ns = c.checkpoint_ns AND b.channel = v.key AND b.version = v.value
    WHERE c.thread_id = ? AND c.checkpoint_ns = ? AND c.checkpoint_id = ?`,
  selectWrites: `SELECT task_id, channel, type, blob FROM lg_checkpoint_writes
    WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ? ORDER BY task_id, idx`,
  selectChannelWrites: `SELECT type, blob FROM lg_checkpoint_writes
    WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ? AND channel = ? ORDER BY task_id, idx`,
  deleteCheckpoints: "DELETE FROM lg_checkpoints WHERE thread_id = ?",
  deleteBlobs: "DELETE FROM lg_checkpoint_blobs WHERE thread_id = ?",
  deleteWrites: "DELETE FROM lg_checkpoint_writes WHERE thread_id = ?",
  pruneCheckpoints: `DELETE FROM lg_checkpoints WHERE rowid IN (
    SELECT rowid FROM (
      SELECT rowid, row_number() OVER (PARTITION BY checkpoint_ns ORDER BY checkpoint_id DESC) AS rn
      FROM lg_checkpoints WHERE thread_id = ?1
    ) WHERE rn > ?2)`,
  pruneWrites: `DELETE FROM lg_checkpoint_writes AS w WHERE w.thread_id = ?1 AND NOT EXISTS (
    SELECT 1 FROM lg_checkpoints AS c
    WHERE c.thread_id = w.thread_id AND c.checkpoint_ns = w.checkpoint_ns AND c.checkpoint_id = w.checkpoint_id)`,
  plainBlobs: `SELECT rowid, type, blob AS bytes FROM lg_checkpoint_blobs
    WHERE thread_id = ? AND type NOT LIKE 'deflate:%' AND length(blob) >= ?`,
  deflateBlob: "UPDATE lg_checkpoint_blobs SET type = ?, blob = ? WHERE rowid = ?",
  plainCheckpoints: `SELECT rowid, type, checkpoint AS bytes FROM lg_checkpoints
    WHERE thread_id = ? AND type NOT LIKE 'deflate:%' AND length(checkpoint) >= ?`,
  deflateCheckpoint: "UPDATE lg_checkpoints SET type = ?, checkpoint = ? WHERE rowid = ?",
  pruneBlobs: `DELETE FROM lg_checkpoint_blobs AS b WHERE b.thread_id = ?1 AND NOT EXISTS (
    SELECT 1 FROM lg_checkpoints AS c, json_each(c.channel_versions) AS v
    WHERE c.thread_id = b.thread_id AND c.checkpoint_ns = b.checkpoint_ns AND v.key = b.channel AND v.value = b.version)`,
} as const;

interface CheckpointRow {
  thread_id: string;
  checkpoint_ns: string;
  checkpoint_id: string;
  parent_checkpoint_id: string | null;
  type: string;
  checkpoint: Uint8Array;
  metadata_type: string;
  metadata: Uint8Array;
}

type CheckpointHead = Pick<
  CheckpointRow,
  "thread_id" | "checkpoint_ns" | "checkpoint_id" | "metadata_type" | "metadata"
>;

interface BlobRow {
  channel: string;
  type: string;
  blob: Uint8Array | null;
}

/** A value stored plainly that `prune` may deflate. */
interface PlainRow {
  rowid: number;
  type: string;
  bytes: Uint8Array;
}

interface WriteRow {
  task_id: string;
  channel: string;
  type: string;
  blob: Uint8Array;
}

export interface SqliteSaverOptions {
  /** Database file (its directory is created) or ":memory:". Ignored when `db` is given. */
  path?: string;
  /** A connection shared with the lead store; the saver then leaves configuring and closing it to the owner. */
  db?: DatabaseSync;
  /**
   * Group commit shared with the other writers on `db`: a step's writes then commit with whatever else is
   * written in the same turn of the event loop, and `put` resolves once they have.
   */
  batch?: SqliteBatch;
  serde?: SerializerProtocol;
}

export class SqliteSaver extends BaseCheckpointSaver implements PrunableSaver {
  readonly #db: DatabaseSync;
  readonly #ownsDb: boolean;
  readonly #statements = new Map<string, StatementSync>();
  readonly #batch: SqliteBatch | undefined;

  constructor(options: SqliteSaverOptions) {
    super(options.serde ?? new FastJsonSerializer());
    this.#batch = options.batch;
    if (options.db) {
      this.#db = options.db;
      this.#ownsDb = false;
    } else {
      const path = options.path ?? ":memory:";
      if (path !== ":memory:" && !path.startsWith("file:")) mkdirSync(dirname(path), { recursive: true });
      this.#db = new DatabaseSync(path);
      this.#ownsDb = true;
      // Same settings as the lead store: a second process (the CLI next to the server) may hold the write
      // lock for a moment; NORMAL in WAL mode loses no commit when the process dies, only on power loss,
      // and then the lost step just runs again behind the side-effect ledger.
      this.#db.exec("PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;");
    }
    // WAL lets readers (the admin API) run while a lead is being written.
    this.#db.exec("PRAGMA journal_mode = WAL");
    this.#db.exec(SCHEMA);
  }

  async close(): Promise<void> {
    if (this.#ownsDb && this.#db.isOpen) this.#db.close();
  }

  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const threadId = threadIdOf(config);
    if (threadId === undefined) return undefined;
    const ns = namespaceOf(config);
    const checkpointId = getCheckpointId(config);
    const row = checkpointId
      ? this.#get<CheckpointRow>(SQL.selectCheckpoint, threadId, ns, checkpointId)
      : this.#get<CheckpointRow>(SQL.selectLatest, threadId, ns);
    return row === undefined ? undefined : this.#toTuple(row);
  }

  async *list(config: RunnableConfig, options: CheckpointListOptions = {}): AsyncGenerator<CheckpointTuple> {
    const { limit, before, filter } = options;
    // SQLite reads a negative LIMIT as "no limit".
    if (limit !== undefined && limit <= 0) return;
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    const threadId = threadIdOf(config);
    if (threadId !== undefined) {
      where.push("thread_id = ?");
      params.push(threadId);
    }
    const ns: unknown = config.configurable?.checkpoint_ns;
    if (typeof ns === "string") {
      where.push("checkpoint_ns = ?");
      params.push(ns);
    }
    const checkpointId = nonEmptyString(config.configurable?.checkpoint_id);
    if (checkpointId !== undefined) {
      where.push("checkpoint_id = ?");
      params.push(checkpointId);
    }
    const beforeId = nonEmptyString(before?.configurable?.checkpoint_id);
    if (beforeId !== undefined) {
      where.push("checkpoint_id < ?");
      params.push(beforeId);
    }
    const whereSql = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
    const filterEntries = Object.entries(filter ?? {});

    if (filterEntries.length === 0) {
      const rows = this.#all<CheckpointRow>(
        `SELECT ${CHECKPOINT_COLUMNS} FROM lg_checkpoints ${whereSql} ORDER BY checkpoint_id DESC LIMIT ?`,
        ...params,
        limit ?? -1,
      );
      for (const row of rows) yield await this.#toTuple(row);
      return;
    }

    // Metadata is opaque to SQL (the serde owns its bytes), so the filter runs here on the small columns
    // first, and only matching checkpoints are loaded whole.
    const heads = this.#all<CheckpointHead>(
      `SELECT thread_id, checkpoint_ns, checkpoint_id, metadata_type, metadata FROM lg_checkpoints ${whereSql}
       ORDER BY checkpoint_id DESC`,
      ...params,
    );
    let remaining = limit ?? Number.POSITIVE_INFINITY;
    for (const head of heads) {
      if (remaining <= 0) return;
      const metadata = (await this.#loads(head.metadata_type, head.metadata)) as CheckpointMetadata;
      if (!matchesFilter(metadata, filterEntries)) continue;
      const row = this.#get<CheckpointRow>(
        SQL.selectCheckpoint,
        head.thread_id,
        head.checkpoint_ns,
        head.checkpoint_id,
      );
      // Deleted (pruned) since the heads were read.
      if (row === undefined) continue;
      remaining -= 1;
      yield await this.#toTuple(row);
    }
  }

  async put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
  ): Promise<RunnableConfig> {
    const threadId = requireThreadId(config, "put");
    const ns = namespaceOf(config);
    const parentId = nonEmptyString(config.configurable?.checkpoint_id) ?? null;
    const { type, bytes, metadataType, metadataBytes, channelVersions, blobs } = await dumpCheckpoint(
      this.serde,
      checkpoint,
      metadata,
      newVersions,
    );
    await this.#write(() => {
      for (const blob of blobs) {
        this.#run(SQL.insertBlob, threadId, ns, blob.channel, blob.version, blob.type, blob.bytes);
      }
      this.#run(
        SQL.upsertCheckpoint,
        threadId,
        ns,
        checkpoint.id,
        parentId,
        type,
        bytes,
        metadataType,
        metadataBytes,
        versionsJson(channelVersions),
      );
    });
    return { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: checkpoint.id } };
  }

  async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string): Promise<void> {
    const { threadId, ns, checkpointId } = writesTarget(config);
    const dumped = await dumpWrites(this.serde, writes);
    await this.#write(() => {
      for (const write of dumped) {
        this.#run(
          replacesStoredWrite(write) ? SQL.replaceWrite : SQL.insertWrite,
          threadId,
          ns,
          checkpointId,
          taskId,
          write.idx,
          write.channel,
          write.type,
          write.bytes,
        );
      }
    });
  }

  async deleteThread(threadId: string): Promise<void> {
    await this.#write(() => {
      this.#run(SQL.deleteCheckpoints, threadId);
      this.#run(SQL.deleteBlobs, threadId);
      this.#run(SQL.deleteWrites, threadId);
    });
  }

  async prune(threadId: string, options?: PruneOptions): Promise<number> {
    const keepLast = keepLastOf(options);
    return this.#write(() => {
      const deleted = Number(this.#run(SQL.pruneCheckpoints, threadId, keepLast).changes);
      this.#run(SQL.pruneWrites, threadId);
      this.#run(SQL.pruneBlobs, threadId);
      // What is kept is kept for long: its long values are stored deflated from now on.
      for (const row of this.#all<PlainRow>(SQL.plainBlobs, threadId, COMPRESS_MIN_BYTES))
        this.#run(SQL.deflateBlob, ...compressTyped(row.type, row.bytes), row.rowid);
      for (const row of this.#all<PlainRow>(SQL.plainCheckpoints, threadId, COMPRESS_MIN_BYTES))
        this.#run(SQL.deflateCheckpoint, ...compressTyped(row.type, row.bytes), row.rowid);
      return deleted;
    });
  }

  /** Fork-safe versions: see `nextChannelVersion`. */
  override getNextVersion(current: number | undefined): number {
    return nextChannelVersion(current);
  }

  async #toTuple(row: CheckpointRow): Promise<CheckpointTuple> {
    const { thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id } = row;
    const blobs = this.#all<BlobRow>(SQL.selectBlobs, thread_id, checkpoint_ns, checkpoint_id);
    const writes = this.#all<WriteRow>(SQL.selectWrites, thread_id, checkpoint_ns, checkpoint_id);
    const [stored, metadata, channelValues, pendingWrites] = await Promise.all([
      this.#loads(row.type, row.checkpoint) as Promise<Checkpoint>,
      this.#loads(row.metadata_type, row.metadata) as Promise<CheckpointMetadata>,
      this.#loadBlobs(blobs),
      Promise.all(
        writes.map(
          async (write): Promise<CheckpointPendingWrite> => [
            write.task_id,
            write.channel,
            await this.#loads(write.type, write.blob),
          ],
        ),
      ),
    ]);
    const checkpoint: Checkpoint = { ...stored, channel_values: channelValues };
    if (checkpoint.v < 4 && parent_checkpoint_id !== null) {
      await this.#migratePendingSends(checkpoint, thread_id, checkpoint_ns, parent_checkpoint_id);
    }
    const tuple: CheckpointTuple = {
      config: { configurable: { thread_id, checkpoint_ns, checkpoint_id } },
      checkpoint,
      metadata,
      pendingWrites,
    };
    if (parent_checkpoint_id !== null) {
      tuple.parentConfig = {
        configurable: { thread_id, checkpoint_ns, checkpoint_id: parent_checkpoint_id },
      };
    }
    return tuple;
  }

  async #loadBlobs(rows: BlobRow[]): Promise<Record<string, unknown>> {
    const entries = await Promise.all(
      rows
        .filter((row) => row.type !== "empty" && row.blob !== null)
        .map(
          async (row) => [row.channel, await this.#loads(row.type, row.blob ?? new Uint8Array())] as const,
        ),
    );
    return Object.fromEntries(entries);
  }

  /** Checkpoints before format v4 kept pending sends as the parent's TASKS writes. */
  async #migratePendingSends(
    checkpoint: Checkpoint,
    threadId: string,
    ns: string,
    parentId: string,
  ): Promise<void> {
    const rows = this.#all<{ type: string; blob: Uint8Array }>(
      SQL.selectChannelWrites,
      threadId,
      ns,
      parentId,
      TASKS,
    );
    const sends = await Promise.all(rows.map((row) => this.#loads(row.type, row.blob)));
    restorePendingSends(checkpoint, sends, () => this.getNextVersion(undefined));
  }

  #loads(type: string, bytes: Uint8Array): Promise<unknown> {
    return this.serde.loadsTyped(...decompressTyped(type, bytes));
  }

  /** A write: in the shared group commit when there is one, else in a transaction of its own, now. */
  #write<T>(body: () => T): Promise<T> {
    if (this.#batch) return this.#batch.run(body);
    try {
      return Promise.resolve(this.#transaction(body));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  // Synchronous on purpose: no other call on this connection can run between BEGIN and COMMIT.
  #transaction<T>(body: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = body();
      this.#db.exec("COMMIT");
      return result;
    } catch (err) {
      this.#db.exec("ROLLBACK");
      throw err;
    }
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #run(sql: string, ...params: SQLInputValue[]) {
    return this.#statement(sql).run(...params);
  }

  #get<Row>(sql: string, ...params: SQLInputValue[]): Row | undefined {
    return this.#statement(sql).get(...params) as Row | undefined;
  }

  #all<Row>(sql: string, ...params: SQLInputValue[]): Row[] {
    return this.#statement(sql).all(...params) as Row[];
  }
}

function versionsJson(versions: ChannelVersions): string {
  return JSON.stringify(
    Object.fromEntries(Object.entries(versions).map(([channel, v]) => [channel, String(v)])),
  );
}
