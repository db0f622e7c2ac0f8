/**
 * The Redis checkpointer (ARCHITECTURE section 4): LangGraph checkpoints on any Redis 6.2+ / Valkey /
 * ElastiCache, with plain hashes, sets and sorted sets only (no modules, no scripts).
 *
 * Keys of one thread, under `<prefix>:{<thread tag>}:` so they share a cluster hash slot and one MULTI can
 * touch them all:
 * - `ns`: set of the thread's checkpoint namespaces;
 * - `keys`: set of every other key of the thread, so deleting or pruning a thread needs no SCAN;
 * - `idx:<ns>`: sorted set of checkpoint ids, all scored 0 so they sort by id, which is a time-ordered uuid6;
 * - `cp:<ns>:<id>`: hash `checkpoint`, `type`, `metadata`, `metadata_type`, `parent`, `versions`;
 * - `w:<ns>:<id>`: hash of the checkpoint's pending writes, field `[taskId, idx]` as JSON;
 * - `blob:<ns>`: hash of channel values, field `[channel, version]` as JSON, each written once and shared
 *   by every checkpoint still at that version.
 */
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
import { type ChainableCommander, Cluster, Redis } from "ioredis";
import {
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
import { keepLastOf, type PrunableSaver, type PruneOptions } from "./types.ts";

export interface RedisSaverOptions {
  /** A client shared with the lead store and queue (left open by `close()`), or a URL the saver connects to. */
  redis: Redis | Cluster | string;
  /** Key prefix; default "lg:cp". No braces: the thread id is each key's hash tag. */
  prefix?: string;
  serde?: SerializerProtocol;
}

interface CheckpointRef {
  ns: string;
  id: string;
}

interface StoredCheckpoint extends CheckpointRef {
  checkpoint: Checkpoint;
  metadata: CheckpointMetadata;
  parentId: string | undefined;
  /** [channel, version] pairs of the checkpoint's channel values. */
  versions: [string, string][];
}

// How many checkpoints `list` loads per round trip.
const LIST_BATCH = 50;

export class RedisSaver extends BaseCheckpointSaver implements PrunableSaver {
  readonly #redis: Redis | Cluster;
  readonly #ownsRedis: boolean;
  readonly #prefix: string;

  constructor(options: RedisSaverOptions) {
    super(options.serde);
    const prefix = options.prefix ?? "lg:cp";
    if (/[{}]/.test(prefix)) throw new Error(`RedisSaver prefix must not contain braces, got "${prefix}"`);
    this.#prefix = prefix;
    if (typeof options.redis === "string") {
      this.#redis = new Redis(options.redis);
      this.#ownsRedis = true;
    } else {
      this.#redis = options.redis;
      this.#ownsRedis = false;
    }
  }

  async close(): Promise<void> {
    if (!this.#ownsRedis || this.#redis.status === "end") return;
    try {
      await this.#redis.quit();
    } catch {
      this.#redis.disconnect();
    }
  }

  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const threadId = threadIdOf(config);
    if (threadId === undefined) return undefined;
    const ns = namespaceOf(config);
    let id = getCheckpointId(config);
    if (!id) {
      const [latest] = await this.#redis.zrevrangebylex(
        this.#keys(threadId).index(ns),
        "+",
        "-",
        "LIMIT",
        0,
        1,
      );
      if (latest === undefined) return undefined;
      id = latest;
    }
    const [tuple] = await this.#load(threadId, [{ ns, id }], []);
    return tuple;
  }

  async *list(config: RunnableConfig, options: CheckpointListOptions = {}): AsyncGenerator<CheckpointTuple> {
    const { limit, before, filter } = options;
    let remaining = limit ?? Number.POSITIVE_INFINITY;
    if (remaining <= 0) return;
    const filterEntries = Object.entries(filter ?? {});
    const configNs: unknown = config.configurable?.checkpoint_ns;
    const onlyId = nonEmptyString(config.configurable?.checkpoint_id);
    const beforeId = nonEmptyString(before?.configurable?.checkpoint_id);
    if (onlyId !== undefined && beforeId !== undefined && onlyId >= beforeId) return;
    const max = onlyId !== undefined ? `[${onlyId}` : beforeId !== undefined ? `(${beforeId}` : "+";
    const min = onlyId !== undefined ? `[${onlyId}` : "-";
    const threadId = threadIdOf(config);
    const threadIds = threadId !== undefined ? [threadId] : await this.#threadIds();

    for (const thread of threadIds) {
      const keys = this.#keys(thread);
      const namespaces =
        typeof configNs === "string" ? [configNs] : await this.#redis.smembers(keys.namespaces);
      if (namespaces.length === 0) continue;
      const page = this.#redis.pipeline();
      for (const ns of namespaces) {
        // Without a filter the newest `remaining` of each namespace are all that can be yielded.
        if (filterEntries.length === 0 && Number.isFinite(remaining)) {
          page.zrevrangebylex(keys.index(ns), max, min, "LIMIT", 0, remaining);
        } else {
          page.zrevrangebylex(keys.index(ns), max, min);
        }
      }
      const idsByNs = (await execAll(page)) as string[][];
      const refs = namespaces.flatMap((ns, i) => (idsByNs[i] ?? []).map((id) => ({ ns, id })));
      refs.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));

      for (let start = 0; start < refs.length; start += LIST_BATCH) {
        const batch = refs.slice(start, start + LIST_BATCH);
        for (const tuple of await this.#load(thread, batch, filterEntries)) {
          yield tuple;
          remaining -= 1;
          if (remaining <= 0) return;
        }
      }
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
    const parentId = nonEmptyString(config.configurable?.checkpoint_id) ?? "";
    const { type, bytes, metadataType, metadataBytes, channelVersions, blobs } = await dumpCheckpoint(
      this.serde,
      checkpoint,
      metadata,
      newVersions,
    );
    const keys = this.#keys(threadId);
    const checkpointKey = keys.checkpoint(ns, checkpoint.id);
    const indexKey = keys.index(ns);
    const blobsKey = keys.blobs(ns);

    const tx = this.#redis.multi();
    for (const blob of blobs) {
      tx.hsetnx(blobsKey, blobField(blob.channel, blob.version), pack(blob.type, blob.bytes));
    }
    tx.hset(checkpointKey, {
      checkpoint: asBuffer(bytes),
      type,
      metadata: asBuffer(metadataBytes),
      metadata_type: metadataType,
      parent: parentId,
      versions: JSON.stringify(versionPairs(channelVersions)),
    });
    tx.zadd(indexKey, 0, checkpoint.id);
    tx.sadd(keys.namespaces, ns);
    tx.sadd(keys.members, indexKey, checkpointKey, blobsKey);
    await execAll(tx);
    return { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: checkpoint.id } };
  }

  async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string): Promise<void> {
    const { threadId, ns, checkpointId } = writesTarget(config);
    if (writes.length === 0) return;
    const dumped = await dumpWrites(this.serde, writes);
    const keys = this.#keys(threadId);
    const writesKey = keys.writes(ns, checkpointId);
    const tx = this.#redis.multi();
    for (const write of dumped) {
      const field = JSON.stringify([taskId, write.idx]);
      const value = pack(JSON.stringify([taskId, write.idx, write.channel, write.type]), write.bytes);
      if (replacesStoredWrite(write)) tx.hset(writesKey, field, value);
      else tx.hsetnx(writesKey, field, value);
    }
    tx.sadd(keys.members, writesKey);
    await execAll(tx);
  }

  async deleteThread(threadId: string): Promise<void> {
    const keys = this.#keys(threadId);
    const members = await this.#redis.smembers(keys.members);
    await this.#redis.unlink(...members, keys.namespaces, keys.members);
  }

  async prune(threadId: string, options?: PruneOptions): Promise<number> {
    const keepLast = keepLastOf(options);
    const keys = this.#keys(threadId);
    const namespaces = await this.#redis.smembers(keys.namespaces);
    if (namespaces.length === 0) return 0;
    const listing = this.#redis.pipeline();
    for (const ns of namespaces) listing.zrevrangebylex(keys.index(ns), "+", "-");
    const idsByNs = (await execAll(listing)) as string[][];
    const total = idsByNs.reduce((sum, ids) => sum + ids.length, 0);
    if (keepLast === 0) {
      await this.deleteThread(threadId);
      return total;
    }

    // The versions of the kept checkpoints tell which channel values are still live.
    const lookup = this.#redis.pipeline();
    namespaces.forEach((ns, i) => {
      lookup.hkeys(keys.blobs(ns));
      for (const id of (idsByNs[i] ?? []).slice(0, keepLast))
        lookup.hget(keys.checkpoint(ns, id), "versions");
    });
    const found = await execAll(lookup);

    const tx = this.#redis.multi();
    let queued = 0;
    let deleted = 0;
    let at = 0;
    namespaces.forEach((ns, i) => {
      const ids = idsByNs[i] ?? [];
      const blobFields = found[at++] as string[];
      const live = new Set<string>();
      const keptCount = Math.min(ids.length, keepLast);
      for (let kept = 0; kept < keptCount; kept += 1) {
        const versions = found[at++] as string | null;
        if (versions === null) continue;
        for (const [channel, version] of JSON.parse(versions) as [string, string][]) {
          live.add(blobField(channel, version));
        }
      }
      const dropped = ids.slice(keepLast);
      if (dropped.length > 0) {
        const droppedKeys = dropped.flatMap((id) => [keys.checkpoint(ns, id), keys.writes(ns, id)]);
        tx.zrem(keys.index(ns), ...dropped);
        tx.unlink(...droppedKeys);
        tx.srem(keys.members, ...droppedKeys);
        queued += 3;
        deleted += dropped.length;
      }
      const unused = blobFields.filter((field) => !live.has(field));
      if (unused.length > 0) {
        tx.hdel(keys.blobs(ns), ...unused);
        queued += 1;
      }
    });
    // A multi() is only buffered until exec, so an empty one can simply be dropped.
    if (queued > 0) await execAll(tx);
    return deleted;
  }

  /** Fork-safe versions: see `nextChannelVersion`. */
  override getNextVersion(current: number | undefined): number {
    return nextChannelVersion(current);
  }

  /** Loads checkpoints of one thread in two round trips, skipping missing ones and those `filter` rejects. */
  async #load(
    threadId: string,
    refs: CheckpointRef[],
    filter: [string, unknown][],
  ): Promise<CheckpointTuple[]> {
    if (refs.length === 0) return [];
    const keys = this.#keys(threadId);
    const heads = this.#redis.pipeline();
    for (const ref of refs) heads.hgetallBuffer(keys.checkpoint(ref.ns, ref.id));
    const hashes = (await execAll(heads)) as Record<string, Buffer>[];

    const found: StoredCheckpoint[] = [];
    for (const [i, ref] of refs.entries()) {
      const hash = hashes[i];
      // Pruned or deleted since its id was read.
      if (hash?.checkpoint === undefined) continue;
      const metadata = (await this.serde.loadsTyped(
        text(hash, "metadata_type"),
        view(required(hash, "metadata")),
      )) as CheckpointMetadata;
      if (!matchesFilter(metadata, filter)) continue;
      found.push({
        ...ref,
        checkpoint: (await this.serde.loadsTyped(text(hash, "type"), view(hash.checkpoint))) as Checkpoint,
        metadata,
        parentId: text(hash, "parent") || undefined,
        versions: JSON.parse(text(hash, "versions")) as [string, string][],
      });
    }
    if (found.length === 0) return [];

    const details = this.#redis.pipeline();
    for (const item of found) {
      details.hgetallBuffer(keys.writes(item.ns, item.id));
      if (item.versions.length > 0) {
        details.hmgetBuffer(
          keys.blobs(item.ns),
          ...item.versions.map(([channel, v]) => blobField(channel, v)),
        );
      }
      if (needsPendingSends(item)) details.hgetallBuffer(keys.writes(item.ns, item.parentId));
    }
    const results = await execAll(details);
    let at = 0;
    const tuples: CheckpointTuple[] = [];
    for (const item of found) {
      const writes = await this.#loadWrites(results[at++] as Record<string, Buffer>);
      const blobs = item.versions.length > 0 ? (results[at++] as (Buffer | null)[]) : [];
      const checkpoint: Checkpoint = {
        ...item.checkpoint,
        channel_values: await this.#loadBlobs(item.versions, blobs),
      };
      if (needsPendingSends(item)) {
        const parentWrites = await this.#loadWrites(results[at++] as Record<string, Buffer>);
        this.#migratePendingSends(checkpoint, parentWrites);
      }
      const configurable = { thread_id: threadId, checkpoint_ns: item.ns };
      const tuple: CheckpointTuple = {
        config: { configurable: { ...configurable, checkpoint_id: item.id } },
        checkpoint,
        metadata: item.metadata,
        pendingWrites: writes,
      };
      if (item.parentId !== undefined) {
        tuple.parentConfig = { configurable: { ...configurable, checkpoint_id: item.parentId } };
      }
      tuples.push(tuple);
    }
    return tuples;
  }

  async #loadBlobs(versions: [string, string][], blobs: (Buffer | null)[]): Promise<Record<string, unknown>> {
    const entries: [string, unknown][] = [];
    for (const [i, [channel]] of versions.entries()) {
      const blob = blobs[i];
      if (blob === null || blob === undefined) continue;
      const [type, bytes] = unpack(blob);
      if (type !== "empty") entries.push([channel, await this.serde.loadsTyped(type, bytes)]);
    }
    return Object.fromEntries(entries);
  }

  async #loadWrites(hash: Record<string, Buffer>): Promise<CheckpointPendingWrite[]> {
    const writes = Object.values(hash).map((packed) => {
      const [header, bytes] = unpack(packed);
      const [taskId, idx, channel, type] = JSON.parse(header) as [string, number, string, string];
      return { taskId, idx, channel, type, bytes };
    });
    // The order the SQL savers read them in: by task, then index.
    writes.sort((a, b) => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : a.idx - b.idx));
    return Promise.all(
      writes.map(
        async (write): Promise<CheckpointPendingWrite> => [
          write.taskId,
          write.channel,
          await this.serde.loadsTyped(write.type, write.bytes),
        ],
      ),
    );
  }

  /** Checkpoints before format v4 kept pending sends as the parent's TASKS writes. */
  #migratePendingSends(checkpoint: Checkpoint, parentWrites: CheckpointPendingWrite[]): void {
    const sends = parentWrites.filter(([, channel]) => channel === TASKS).map(([, , v]) => v);
    restorePendingSends(checkpoint, sends, () => this.getNextVersion(undefined));
  }

  /** Every thread with a checkpoint; SCANs each master, so only for the rare cross-thread listing. */
  async #threadIds(): Promise<string[]> {
    const nodes = this.#redis instanceof Cluster ? this.#redis.nodes("master") : [this.#redis];
    const head = `${this.#prefix}:{`;
    const tail = "}:ns";
    const pattern = `${head.replace(/[*?[\]\\]/g, "\\$&")}*${tail}`;
    const threadIds = new Set<string>();
    for (const node of nodes) {
      let cursor = "0";
      do {
        const [next, found] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000);
        cursor = next;
        for (const key of found) {
          const tag = key.slice(head.length, -tail.length);
          // A brace in the middle means some other key ends in "}:ns"; thread tags never hold braces.
          if (!/[{}]/.test(tag)) threadIds.add(threadIdFromTag(tag));
        }
      } while (cursor !== "0");
    }
    return [...threadIds];
  }

  #keys(threadId: string) {
    const base = `${this.#prefix}:{${threadTag(threadId)}}`;
    return {
      namespaces: `${base}:ns`,
      members: `${base}:keys`,
      index: (ns: string) => `${base}:idx:${ns}`,
      checkpoint: (ns: string, id: string) => `${base}:cp:${ns}:${id}`,
      writes: (ns: string, id: string) => `${base}:w:${ns}:${id}`,
      blobs: (ns: string) => `${base}:blob:${ns}`,
    };
  }
}

/**
 * The thread id itself when it makes a valid hash tag, else "~" and its base64url: a brace would end the
 * tag early or leave it empty (then Redis hashes the whole key and a thread's keys scatter over slots).
 */
function threadTag(threadId: string): string {
  return /^[^{}~][^{}]*$/.test(threadId) ? threadId : `~${Buffer.from(threadId).toString("base64url")}`;
}

function threadIdFromTag(tag: string): string {
  return tag.startsWith("~") ? Buffer.from(tag.slice(1), "base64url").toString() : tag;
}

function needsPendingSends(item: StoredCheckpoint): item is StoredCheckpoint & { parentId: string } {
  return item.checkpoint.v < 4 && item.parentId !== undefined;
}

async function execAll(commands: ChainableCommander): Promise<unknown[]> {
  const results = await commands.exec();
  if (results === null) throw new Error("Redis transaction was aborted");
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

function blobField(channel: string, version: string): string {
  return JSON.stringify([channel, version]);
}

function versionPairs(versions: ChannelVersions): [string, string][] {
  return Object.entries(versions).map(([channel, version]) => [channel, String(version)]);
}

/** A value with its header (type, or write coordinates) in front: 4-byte header length, header, bytes. */
function pack(header: string, bytes: Uint8Array | null): Buffer {
  const head = Buffer.from(header);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(head.length);
  return Buffer.concat([length, head, bytes ?? new Uint8Array()]);
}

function unpack(packed: Buffer): [string, Uint8Array] {
  const length = packed.readUInt32BE(0);
  return [packed.toString("utf8", 4, 4 + length), view(packed.subarray(4 + length))];
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// The serde may hand "bytes" values back as they are; callers should get a plain Uint8Array, not a Buffer.
function view(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function required(hash: Record<string, Buffer>, field: string): Buffer {
  const value = hash[field];
  if (value === undefined) throw new Error(`Corrupt checkpoint hash: no "${field}" field`);
  return value;
}

function text(hash: Record<string, Buffer>, field: string): string {
  return required(hash, field).toString();
}
