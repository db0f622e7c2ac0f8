/**
 * The Redis checkpointer (docs/architecture.md, "Ports and adapters"): LangGraph checkpoints on any Redis 6.2+ / Valkey /
 * ElastiCache, with plain hashes only (no modules, no scripts).
 *
 * One hash per thread, `<prefix>:{<thread tag>}:cp` (the tag keeps a thread in one cluster hash slot), so
 * deleting or pruning a thread needs no key bookkeeping. Its fields:
 * - `c<ns>\0<checkpoint id>`: a checkpoint without its values, its metadata and its parent id; once `prune`
 *   kept it, a one-byte stub (`IN_BUNDLE`) and the checkpoint is in `b<ns>`;
 * - `v[ns, channel, version]` (JSON): one channel value, written by the step that changed it and shared by
 *   every checkpoint still at that version; `b<ns>`: the values and checkpoints `prune` kept, bundled;
 * - `w[ns, checkpoint id, task id]` (JSON): every ordinary pending write of one `putWrites` call;
 *   `w[ns, checkpoint id, task id, idx]` one write on its own: a special one (error, interrupt, ...), or
 *   one a later call added for an index the first call did not have.
 *
 * A step is one HSET (its changed values and its checkpoint, atomically), a task's writes one HSETNX.
 * There is no separate index: the newest checkpoint is found among the field names (HKEYS), and ids are
 * time-ordered uuid6s. That read grows with the thread, which suits lead threads (a handful of checkpoints
 * while a lead runs, one once it is pruned); a saver for long-lived threads would keep a sorted index,
 * at one more command per step.
 *
 * Steps write plainly: most of what they write is gone once the lead completes. `prune` deflates what it
 * keeps (`withMarker`) in one stream: a finished (or waiting) lead's checkpoint and its values, bundled.
 *
 * Over 300 lines because it is one storage layout (keys, fields, prune) that only reads right whole; the checkpointer conformance suite tests it as one unit.
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
import { type ChainableCommander, Cluster, type Redis } from "ioredis";
import { clientOf } from "../../store/redis-client.ts";
import {
  type DumpedBlob,
  type DumpedWrite,
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
  withMarker,
  withoutMarker,
  writesTarget,
} from "./common.ts";
import { FastJsonSerializer } from "./serde.ts";
import { keepLastOf, type NewThreadHint, type PrunableSaver, type PruneOptions } from "./types.ts";

export interface RedisSaverOptions {
  /** A client shared with the lead store and queue (left open by `close()`), or a URL the saver connects to. */
  redis: Redis | Cluster | string;
  /** Key prefix; default "lg:cp". No braces: the thread id is each key's hash tag. */
  prefix?: string;
  serde?: SerializerProtocol;
  /**
   * Hold a task's ordinary writes in memory and store them in the HSET of the checkpoint that follows them
   * (the same step, once every task of it has ended), instead of one HSETNX each: one command less per task.
   * Special writes (errors, interrupts, resumes) are stored at once, with whatever is held for their
   * checkpoint; a read of the thread in this process stores what is held first. What a crash loses is
   * the writes of tasks whose step had not ended: those tasks run again on resume, as they would under
   * `durability: "async"`. Default false.
   */
  holdWrites?: boolean;
}

interface CheckpointRef {
  ns: string;
  id: string;
}

/** One serialised value inside a record or a writes field. */
interface Typed {
  type: string;
  bytes: Uint8Array;
}

interface StoredRecord {
  checkpoint: Typed;
  metadata: Typed;
  parentId: string | undefined;
}

interface BundledValue extends Typed {
  channel: string;
  version: string;
}

interface StoredWrite extends Typed {
  taskId: string;
  idx: number;
  channel: string;
}

// Deleting a field that is not there still moves one bucket of a hash table being resized.
const REHASH_STEPS: string[] = Array.from({ length: 16 }, () => "");
// How many checkpoints `list` loads per round trip.
const LIST_BATCH = 50;
// Threads whose held writes stay in memory at most; past it the oldest thread's are stored (a run given up
// part-way never puts its next checkpoint).
const MAX_HELD_THREADS = 256;

/** Ordinary writes of one thread waiting for the next checkpoint: by checkpoint (ns, id), then task id. */
type HeldWrites = Map<string, { ns: string; checkpointId: string; tasks: Map<string, DumpedWrite[]> }>;

export class RedisSaver extends BaseCheckpointSaver implements PrunableSaver, NewThreadHint {
  readonly #redis: Redis | Cluster;
  readonly #ownsRedis: boolean;
  readonly #prefix: string;
  readonly #holdWrites: boolean;
  readonly #held = new Map<string, HeldWrites>();
  /** Threads the caller said have no checkpoint yet (`expectNewThread`), until their first read or write. */
  readonly #fresh = new Set<string>();

  constructor(options: RedisSaverOptions) {
    super(options.serde ?? new FastJsonSerializer());
    const prefix = options.prefix ?? "lg:cp";
    if (/[{}]/.test(prefix)) throw new Error(`RedisSaver prefix must not contain braces, got "${prefix}"`);
    this.#prefix = prefix;
    this.#holdWrites = options.holdWrites ?? false;
    const { client, owned } = clientOf(options.redis);
    this.#redis = client;
    this.#ownsRedis = owned;
  }

  async close(): Promise<void> {
    // Best effort: a write not stored only means its task runs again on resume.
    await Promise.allSettled([...this.#held.keys()].map((threadId) => this.#storeHeld(threadId)));
    if (!this.#ownsRedis || this.#redis.status === "end") return;
    try {
      await this.#redis.quit();
    } catch {
      this.#redis.disconnect();
    }
  }

  /**
   * The runner's word that the thread has no checkpoint (a lead never marked running): LangGraph's read of
   * it at the start of the run then needs no HKEYS (issue 12: one command less per lead).
   */
  expectNewThread(threadId: string): () => void {
    this.#fresh.add(threadId);
    if (this.#fresh.size > MAX_HELD_THREADS) {
      const oldest = this.#fresh.values().next().value;
      if (oldest !== undefined) this.#fresh.delete(oldest);
    }
    // A hint left by a run that ended before its first read must not answer for a later run.
    return () => {
      this.#fresh.delete(threadId);
    };
  }

  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const threadId = threadIdOf(config);
    if (threadId === undefined) return undefined;
    const ns = namespaceOf(config);
    const id = getCheckpointId(config);
    if (this.#fresh.delete(threadId) && !id && ns === "" && !this.#held.has(threadId)) return undefined;
    await this.#storeHeld(threadId);
    if (id) return (await this.#load(threadId, [{ ns, id }], []))[0];
    const fields = await this.#fields(threadId);
    const newest = newestFirst(refsIn(fields), ns)[0];
    return newest && (await this.#load(threadId, [newest], [], fields))[0];
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
    const threadId = threadIdOf(config);
    const threadIds = threadId !== undefined ? [threadId] : await this.#threadIds();
    // Without a filter the newest `remaining` are all that can be yielded.
    const fetchLimit = filterEntries.length === 0 && Number.isFinite(remaining) ? remaining : undefined;

    for (const thread of threadIds) {
      await this.#storeHeld(thread);
      const fields = await this.#fields(thread);
      let refs = newestFirst(refsIn(fields), typeof configNs === "string" ? configNs : undefined).filter(
        ({ id }) => (onlyId === undefined || id === onlyId) && (beforeId === undefined || id < beforeId),
      );
      if (fetchLimit !== undefined) refs = refs.slice(0, fetchLimit);

      for (let start = 0; start < refs.length; start += LIST_BATCH) {
        const batch = refs.slice(start, start + LIST_BATCH);
        for (const tuple of await this.#load(thread, batch, filterEntries, fields)) {
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
    this.#fresh.delete(threadId);
    const ns = namespaceOf(config);
    checkNamespace(ns);
    const parentId = nonEmptyString(config.configurable?.checkpoint_id);
    const dumped = await dumpCheckpoint(this.serde, checkpoint, metadata, newVersions);
    const fields: Array<string | Buffer> = [];
    for (const blob of dumped.blobs) fields.push(valueField(ns, blob.channel, blob.version), packValue(blob));
    fields.push(
      recordField({ ns, id: checkpoint.id }),
      packRecord({
        checkpoint: { type: dumped.type, bytes: dumped.bytes },
        metadata: { type: dumped.metadataType, bytes: dumped.metadataBytes },
        parentId,
      }),
    );
    // The writes of the step this checkpoint ends, when held (`holdWrites`).
    if (parentId !== undefined) fields.push(...this.#takeHeld(threadId, ns, parentId));
    // One HSET, so whoever finds the checkpoint finds its values. They are not HSETNX'd: a (channel,
    // version) only ever holds one value (`nextChannelVersion`).
    await this.#redis.hset(this.#key(threadId), ...fields);
    return { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: checkpoint.id } };
  }

  async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string): Promise<void> {
    const { threadId, ns, checkpointId } = writesTarget(config);
    this.#fresh.delete(threadId);
    if (writes.length === 0) return;
    checkNamespace(ns);
    const dumped = await dumpWrites(this.serde, writes);
    const ordinary = dumped.filter((write) => !replacesStoredWrite(write));
    const special = dumped.filter(replacesStoredWrite);
    if (this.#holdWrites && special.length === 0) {
      this.#hold(threadId, ns, checkpointId, taskId, ordinary);
      return;
    }
    const key = this.#key(threadId);
    const batch = this.#redis.pipeline();
    const held = this.#takeHeld(threadId, ns, checkpointId);
    if (held.length > 0) batch.hset(key, ...held);
    // A retried task keeps the writes it saved first; special channels always hold the latest value.
    if (ordinary.length > 0) batch.hsetnx(key, writesField(ns, checkpointId, taskId), packWrites(ordinary));
    for (const write of special) {
      batch.hset(key, writesField(ns, checkpointId, taskId, write.idx), packWrites([write]));
    }
    const [firstSet] = (await execAll(batch)).slice(held.length > 0 ? 1 : 0);
    if (ordinary.length > 0 && firstSet === 0) {
      await this.#addMissingWrites(key, ns, checkpointId, taskId, ordinary);
    }
  }

  async deleteThread(threadId: string): Promise<void> {
    this.#held.delete(threadId);
    this.#fresh.delete(threadId);
    await this.#redis.unlink(this.#key(threadId));
  }

  /** Keeps a task's ordinary writes for the next checkpoint; a retried task keeps its first writes. */
  #hold(threadId: string, ns: string, checkpointId: string, taskId: string, writes: DumpedWrite[]): void {
    let thread = this.#held.get(threadId);
    if (!thread) {
      thread = new Map();
      this.#held.set(threadId, thread);
      const oldest = this.#held.keys().next().value;
      if (this.#held.size > MAX_HELD_THREADS && oldest !== undefined)
        void this.#storeHeld(oldest).catch(() => {});
    }
    const at = JSON.stringify([ns, checkpointId]);
    let step = thread.get(at);
    if (!step) {
      step = { ns, checkpointId, tasks: new Map() };
      thread.set(at, step);
    }
    const first = step.tasks.get(taskId);
    if (!first) {
      step.tasks.set(taskId, writes);
      return;
    }
    const stored = new Set(first.map((write) => write.idx));
    first.push(...writes.filter((write) => !stored.has(write.idx)));
  }

  /** HSET field/value pairs of the writes held for one checkpoint, no longer held. */
  #takeHeld(threadId: string, ns: string, checkpointId: string): Array<string | Buffer> {
    const thread = this.#held.get(threadId);
    const at = JSON.stringify([ns, checkpointId]);
    const step = thread?.get(at);
    if (!thread || !step) return [];
    thread.delete(at);
    if (thread.size === 0) this.#held.delete(threadId);
    return [...step.tasks].flatMap(([taskId, writes]) => [
      writesField(ns, checkpointId, taskId),
      packWrites(writes),
    ]);
  }

  /** Stores whatever is held for the thread (before a read, on close, or when too many threads wait). */
  async #storeHeld(threadId: string): Promise<void> {
    const thread = this.#held.get(threadId);
    if (!thread) return;
    this.#held.delete(threadId);
    const fields = [...thread.values()].flatMap((step) =>
      [...step.tasks].flatMap(([taskId, writes]) => [
        writesField(step.ns, step.checkpointId, taskId),
        packWrites(writes),
      ]),
    );
    if (fields.length === 0) return;
    const key = this.#key(threadId);
    const batch = this.#redis.pipeline();
    for (let i = 0; i < fields.length; i += 2)
      batch.hsetnx(key, fields[i] as string, fields[i + 1] as Buffer);
    await execAll(batch);
  }

  /**
   * Also compacts what it keeps: the live channel values of each namespace move into one deflated bundle
   * field, a finished lead's whole state then costing two fields (checkpoint and bundle) instead of one per
   * channel. A later step on the thread still finds unchanged values there.
   */
  async prune(threadId: string, options?: PruneOptions): Promise<number> {
    const keepLast = keepLastOf(options);
    const key = this.#key(threadId);
    await this.#storeHeld(threadId);
    if (keepLast === 0) {
      const fields = await this.#fields(threadId);
      await this.deleteThread(threadId);
      return refsIn(fields).length;
    }
    const hash = await this.#redis.hgetallBuffer(key);
    const fields = Object.keys(hash);
    const refs = refsIn(fields);

    const byNamespace = new Map<string, CheckpointRef[]>();
    for (const ref of newestFirst(refs)) {
      const list = byNamespace.get(ref.ns);
      if (list) list.push(ref);
      else byNamespace.set(ref.ns, [ref]);
    }
    const kept = [...byNamespace.values()].flatMap((list) => list.slice(0, keepLast));
    const keptFields = new Set(kept.map(recordField));

    // The kept checkpoints' versions tell which values are live; those go into their namespace's bundle,
    // and the kept checkpoints themselves with them (their fields keep a stub, `IN_BUNDLE`).
    const bundles = new Map<string, Bundle>();
    const oldBundles = new Map<string, Bundle>();
    const oldBundle = (ns: string): Bundle => {
      let bundle = oldBundles.get(ns);
      if (!bundle) {
        const packed = hash[bundleField(ns)];
        bundle = packed === undefined ? emptyBundle() : unpackBundle(packed);
        oldBundles.set(ns, bundle);
      }
      return bundle;
    };
    for (const ref of kept) {
      const packed = hash[recordField(ref)];
      if (packed === undefined) continue;
      const previous = oldBundle(ref.ns);
      const record = isInBundle(packed) ? previous.records.get(ref.id) : unpackRecord(packed);
      if (record === undefined) continue;
      const checkpoint = (await this.#loads(record.checkpoint)) as Checkpoint;
      const bundle = bundles.get(ref.ns) ?? emptyBundle();
      bundles.set(ref.ns, bundle);
      bundle.records.set(ref.id, record);
      for (const [channel, v] of Object.entries(checkpoint.channel_versions)) {
        const version = String(v);
        const slot = bundleSlot(channel, version);
        const single = hash[valueField(ref.ns, channel, version)];
        const value =
          single === undefined ? previous.values.get(slot) : { channel, version, ...unpackValue(single) };
        if (value !== undefined) bundle.values.set(slot, value);
      }
    }
    const live = (field: string) => {
      switch (field[0]) {
        case "c":
          return keptFields.has(field);
        case "b":
          return bundles.has(field.slice(1));
        case "w": {
          const [ns, id] = parseWritesField(field);
          return keptFields.has(recordField({ ns, id }));
        }
        default:
          return false;
      }
    };
    const dead = fields.filter((field) => !live(field));
    const unbundled = [...bundles].flatMap(([ns, bundle]) =>
      [...bundle.records.keys()]
        .map((id) => recordField({ ns, id }))
        .filter((field) => !isInBundle(hash[field] as Buffer)),
    );
    // Already compact: nothing dropped, every value and checkpoint in its bundle.
    if (dead.length === 0 && unbundled.length === 0) return 0;

    // Bundles and stubs in one HSET, then the fields they replace: a reader always finds each live value and
    // checkpoint, and one that listed a dropped checkpoint just before finds it gone and skips it.
    const batch = this.#redis.pipeline();
    const rewritten = [
      ...[...bundles].flatMap(([ns, bundle]) => [bundleField(ns), packBundle(bundle)]),
      ...unbundled.flatMap((field) => [field, IN_BUNDLE_STUB]),
    ];
    if (rewritten.length > 0) batch.hset(key, ...rewritten);
    // Redis shrinks a hash's table only on a delete that finds it sparse, and not while it is still moving
    // entries between tables (it moves one bucket per operation on the hash): names of a field no thread
    // has ("") before and after the dead ones finish that move in this command, so the table shrinks to the
    // few fields kept now rather than staying sized for the whole run (about 0.5 KB a lead; issue 12).
    if (dead.length > 0) batch.hdel(key, ...REHASH_STEPS, ...dead, ...REHASH_STEPS);
    await execAll(batch);
    return refs.length - kept.length;
  }

  /** Fork-safe versions: see `nextChannelVersion`. */
  override getNextVersion(current: number | undefined): number {
    return nextChannelVersion(current);
  }

  /** Writes of a repeated `putWrites` for indexes the task's first call did not have. */
  async #addMissingWrites(
    key: string,
    ns: string,
    checkpointId: string,
    taskId: string,
    writes: DumpedWrite[],
  ): Promise<void> {
    const first = await this.#redis.hgetBuffer(key, writesField(ns, checkpointId, taskId));
    const stored = new Set(first === null ? [] : unpackWrites(first).map((write) => write.idx));
    const missing = writes.filter((write) => !stored.has(write.idx));
    if (missing.length === 0) return;
    const batch = this.#redis.pipeline();
    for (const write of missing) {
      batch.hsetnx(key, writesField(ns, checkpointId, taskId, write.idx), packWrites([write]));
    }
    await execAll(batch);
  }

  /**
   * Loads checkpoints of one thread in two round trips (the field names, unless given, come with the
   * first), skipping missing ones and those `filter` rejects.
   */
  async #load(
    threadId: string,
    refs: CheckpointRef[],
    filter: [string, unknown][],
    knownFields?: string[],
  ): Promise<CheckpointTuple[]> {
    if (refs.length === 0) return [];
    const key = this.#key(threadId);
    // A pruned checkpoint's field is a stub and the checkpoint is in its namespace's bundle: read with it,
    // in the same command, so the two agree.
    const refNamespaces = [...new Set(refs.map((ref) => ref.ns))];
    const first = this.#redis
      .pipeline()
      .hmgetBuffer(key, ...refs.map((ref) => recordField(ref)), ...refNamespaces.map(bundleField));
    if (!knownFields) first.hkeys(key);
    const [stored, listed] = (await execAll(first)) as [(Buffer | null)[], string[] | undefined];
    const fields = knownFields ?? listed ?? [];
    const records = stored.slice(0, refs.length);
    const firstBundles = new Map<string, Bundle>();
    const bundledRecord = (ref: CheckpointRef): StoredRecord | undefined => {
      let bundle = firstBundles.get(ref.ns);
      if (!bundle) {
        const packed = stored[refs.length + refNamespaces.indexOf(ref.ns)];
        bundle = packed ? unpackBundle(packed) : emptyBundle();
        firstBundles.set(ref.ns, bundle);
      }
      return bundle.records.get(ref.id);
    };

    const found: Array<{
      ref: CheckpointRef;
      record: StoredRecord;
      checkpoint: Checkpoint;
      metadata: CheckpointMetadata;
    }> = [];
    for (const [i, ref] of refs.entries()) {
      const packed = records[i];
      // Pruned or deleted since its id was read.
      if (packed === null || packed === undefined) continue;
      const record = isInBundle(packed) ? bundledRecord(ref) : unpackRecord(packed);
      if (record === undefined) continue;
      const metadata = (await this.#loads(record.metadata)) as CheckpointMetadata;
      if (!matchesFilter(metadata, filter)) continue;
      found.push({ ref, record, metadata, checkpoint: (await this.#loads(record.checkpoint)) as Checkpoint });
    }
    if (found.length === 0) return [];

    // Each value is in its own field, or in its namespace's bundle once the thread was pruned; the
    // writes of each checkpoint (and of its parent, for a pre-v4 one) come with them.
    const wanted = found.flatMap(({ ref, checkpoint }) =>
      Object.entries(checkpoint.channel_versions).map(([channel, version]) => ({
        ns: ref.ns,
        channel,
        version: String(version),
      })),
    );
    const namespaces = [...new Set(found.map(({ ref }) => ref.ns))];
    const writesOfInterest = new Set(
      found.flatMap(({ ref, record, checkpoint }) => [
        recordField(ref),
        ...(checkpoint.v < 4 && record.parentId !== undefined
          ? [recordField({ ns: ref.ns, id: record.parentId })]
          : []),
      ]),
    );
    const writeFields = fields.filter((field) => {
      if (!field.startsWith("w")) return false;
      const [ns, id] = parseWritesField(field);
      return writesOfInterest.has(recordField({ ns, id }));
    });
    const lookup = [
      ...wanted.map((w) => valueField(w.ns, w.channel, w.version)),
      ...namespaces.map(bundleField),
      ...writeFields,
    ];
    const values = lookup.length > 0 ? await this.#redis.hmgetBuffer(key, ...lookup) : [];
    const bundles = new Map(
      namespaces.map((ns, i) => {
        const packed = values[wanted.length + i];
        return [ns, (packed ? unpackBundle(packed) : emptyBundle()).values] as const;
      }),
    );
    const writesHash: Record<string, Buffer> = {};
    writeFields.forEach((field, i) => {
      const packed = values[wanted.length + namespaces.length + i];
      if (packed) writesHash[field] = packed;
    });
    const writesOf = groupWrites(writesHash);

    const tuples: CheckpointTuple[] = [];
    let at = 0;
    for (const { ref, record, checkpoint: stored, metadata } of found) {
      const entries: [string, unknown][] = [];
      for (const _ of Object.keys(stored.channel_versions)) {
        const { channel, version } = wanted[at] as { channel: string; version: string };
        const single = values[at++];
        const value = single ? unpackValue(single) : bundles.get(ref.ns)?.get(bundleSlot(channel, version));
        if (value !== undefined && value.type !== "empty") entries.push([channel, await this.#loads(value)]);
      }
      const checkpoint: Checkpoint = { ...stored, channel_values: Object.fromEntries(entries) };
      if (checkpoint.v < 4 && record.parentId !== undefined) {
        // Checkpoints before format v4 kept pending sends as the parent's TASKS writes.
        const parentWrites = writesOf.get(recordField({ ns: ref.ns, id: record.parentId })) ?? [];
        const sends = await Promise.all(
          parentWrites.filter((write) => write.channel === TASKS).map((write) => this.#loads(write)),
        );
        restorePendingSends(checkpoint, sends, () => this.getNextVersion(undefined));
      }
      const pendingWrites = await Promise.all(
        (writesOf.get(recordField(ref)) ?? []).map(
          async (write): Promise<CheckpointPendingWrite> => [
            write.taskId,
            write.channel,
            await this.#loads(write),
          ],
        ),
      );
      const configurable = { thread_id: threadId, checkpoint_ns: ref.ns };
      const tuple: CheckpointTuple = {
        config: { configurable: { ...configurable, checkpoint_id: ref.id } },
        checkpoint,
        metadata,
        pendingWrites,
      };
      if (record.parentId !== undefined) {
        tuple.parentConfig = { configurable: { ...configurable, checkpoint_id: record.parentId } };
      }
      tuples.push(tuple);
    }
    return tuples;
  }

  #loads(value: Typed): Promise<unknown> {
    return this.serde.loadsTyped(value.type, value.bytes);
  }

  /** The field names of the thread's hash. */
  #fields(threadId: string): Promise<string[]> {
    return this.#redis.hkeys(this.#key(threadId));
  }

  /** Every thread with a checkpoint; SCANs each master, so only for the rare cross-thread listing. */
  async #threadIds(): Promise<string[]> {
    const nodes = this.#redis instanceof Cluster ? this.#redis.nodes("master") : [this.#redis];
    const head = `${this.#prefix}:{`;
    const tail = "}:cp";
    const pattern = `${head.replace(/[*?[\]\\]/g, "\\$&")}*${tail}`;
    const threadIds = new Set<string>();
    for (const node of nodes) {
      let cursor = "0";
      do {
        const [next, found] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000);
        cursor = next;
        for (const key of found) {
          const tag = key.slice(head.length, -tail.length);
          // A brace in the middle means some other key ends in "}:cp"; thread tags never hold braces.
          if (!/[{}]/.test(tag)) threadIds.add(threadIdFromTag(tag));
        }
      } while (cursor !== "0");
    }
    return [...threadIds];
  }

  #key(threadId: string): string {
    return `${this.#prefix}:{${threadTag(threadId)}}:cp`;
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

/**
 * A checkpoint's field in the `cp` hash: "c", namespace, NUL, id. A namespace never holds a NUL, so the
 * first one splits them; value fields start with "v".
 */
function recordField(ref: CheckpointRef): string {
  return `c${ref.ns}\0${ref.id}`;
}

function parseRecordField(field: string): CheckpointRef | undefined {
  if (!field.startsWith("c")) return undefined;
  const at = field.indexOf("\0");
  return { ns: field.slice(1, at), id: field.slice(at + 1) };
}

/** Newest first by id (ids of one thread sort by time), of one namespace or all. */
function newestFirst(refs: CheckpointRef[], ns?: string): CheckpointRef[] {
  return refs
    .filter((ref) => ns === undefined || ref.ns === ns)
    .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

/** A channel value's field in the `cp` hash. */
function valueField(ns: string, channel: string, version: string): string {
  return `v${JSON.stringify([ns, channel, version])}`;
}

/** A namespace's bundle of channel values in the `cp` hash (see `prune`). */
function bundleField(ns: string): string {
  return `b${ns}`;
}

function bundleSlot(channel: string, version: string): string {
  return JSON.stringify([channel, version]);
}

function checkNamespace(ns: string): void {
  if (ns.includes("\0")) throw new Error("RedisSaver: checkpoint_ns must not contain a NUL character");
}

function writesField(ns: string, checkpointId: string, taskId: string, idx?: number): string {
  return `w${JSON.stringify(idx === undefined ? [ns, checkpointId, taskId] : [ns, checkpointId, taskId, idx])}`;
}

function parseWritesField(field: string): [ns: string, checkpointId: string, taskId: string, idx?: number] {
  return JSON.parse(field.slice(1)) as [string, string, string, number?];
}

/** The checkpoints named by a thread's field names. */
function refsIn(fields: string[]): CheckpointRef[] {
  return fields.flatMap((field) => parseRecordField(field) ?? []);
}

/** The stored writes by checkpoint (`recordField`), each checkpoint's sorted by task id, then index. */
function groupWrites(hash: Record<string, Buffer>): Map<string, StoredWrite[]> {
  const byCheckpoint = new Map<string, Map<string, StoredWrite>>();
  // Whole calls first: a write stored on its own fills in an index its task's first call did not have.
  const fields = Object.entries(hash)
    .map(([field, packed]) => [parseWritesField(field), packed] as const)
    .sort(([a], [b]) => a.length - b.length);
  for (const [[ns, checkpointId, taskId], packed] of fields) {
    const key = recordField({ ns, id: checkpointId });
    const writes = byCheckpoint.get(key) ?? new Map<string, StoredWrite>();
    byCheckpoint.set(key, writes);
    for (const write of unpackWrites(packed)) {
      const slot = JSON.stringify([taskId, write.idx]);
      if (!writes.has(slot)) writes.set(slot, { ...write, taskId });
    }
  }
  const sorted = new Map<string, StoredWrite[]>();
  for (const [key, writes] of byCheckpoint) {
    // The order the SQL savers read them in: by task, then index.
    sorted.set(
      key,
      [...writes.values()].sort((a, b) =>
        a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : a.idx - b.idx,
      ),
    );
  }
  return sorted;
}

async function execAll(commands: ChainableCommander): Promise<unknown[]> {
  const results = await commands.exec();
  if (results === null) throw new Error("Redis transaction was aborted");
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

/**
 * A header and byte chunks as one value behind a compression marker: 4-byte header length, header (JSON
 * naming each chunk's length), then the chunks.
 */
function pack(header: unknown, chunks: Uint8Array[], deflate = false): Buffer {
  const head = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(head.length);
  return withMarker(Buffer.concat([length, head, ...chunks]), deflate);
}

/** The header and a reader that hands out the chunks in order. */
function unpack<Header>(stored: Uint8Array): [Header, (length: number) => Uint8Array] {
  const buffer = withoutMarker(stored);
  const headerLength = buffer.readUInt32BE(0);
  let at = 4 + headerLength;
  const next = (length: number) => {
    // A plain Uint8Array view: the serde may hand "bytes" values back as they are, and callers stored one.
    const chunk = new Uint8Array(buffer.buffer, buffer.byteOffset + at, length);
    at += length;
    return chunk;
  };
  return [JSON.parse(buffer.toString("utf8", 4, 4 + headerLength)) as Header, next];
}

type RecordHeader = [
  checkpointType: string,
  checkpointLength: number,
  metadataType: string,
  metadataLength: number,
  parentId: string | null,
];

function recordHeader(record: StoredRecord): RecordHeader {
  return [
    record.checkpoint.type,
    record.checkpoint.bytes.byteLength,
    record.metadata.type,
    record.metadata.bytes.byteLength,
    record.parentId ?? null,
  ];
}

function packRecord(record: StoredRecord): Buffer {
  return pack(recordHeader(record), [record.checkpoint.bytes, record.metadata.bytes]);
}

/**
 * The value of a checkpoint's field once `prune` moved the checkpoint into its namespace's bundle: a byte
 * no `withMarker` value starts with, alone.
 */
const IN_BUNDLE = 2;
const IN_BUNDLE_STUB = Buffer.of(IN_BUNDLE);

function isInBundle(stored: Uint8Array): boolean {
  return stored.byteLength === 1 && stored[0] === IN_BUNDLE;
}

function unpackRecord(stored: Uint8Array): StoredRecord {
  const [[checkpointType, checkpointLength, metadataType, metadataLength, parentId], next] =
    unpack<RecordHeader>(stored);
  return {
    checkpoint: { type: checkpointType, bytes: next(checkpointLength) },
    metadata: { type: metadataType, bytes: next(metadataLength) },
    parentId: parentId ?? undefined,
  };
}

/** A channel value: its serde type ("empty" for a channel updated to nothing) as the header. */
function packValue(blob: DumpedBlob): Buffer {
  return pack(blob.type, blob.bytes === null ? [] : [blob.bytes]);
}

function unpackValue(stored: Uint8Array): Typed {
  const buffer = withoutMarker(stored);
  const headerLength = buffer.readUInt32BE(0);
  const start = 4 + headerLength;
  return {
    type: JSON.parse(buffer.toString("utf8", 4, start)) as string,
    bytes: new Uint8Array(buffer.buffer, buffer.byteOffset + start, buffer.byteLength - start),
  };
}

/** A pruned namespace's live values by `bundleSlot`, and its kept checkpoints by id. */
interface Bundle {
  values: Map<string, BundledValue>;
  records: Map<string, StoredRecord>;
}

function emptyBundle(): Bundle {
  return { values: new Map(), records: new Map() };
}

type BundleValuesHeader = [channel: string, version: string, type: string, length: number][];
type BundleRecordsHeader = [id: string, ...RecordHeader][];

/**
 * The header names the values (channel, version, serde type, length), then the checkpoints (id and their
 * `RecordHeader`); the chunks follow in that order: one deflate stream, so the versions a checkpoint names
 * and those of its values are stored once. A bundle written before it held checkpoints has the values'
 * list alone as its header.
 */
type BundleHeader = BundleValuesHeader | { v: BundleValuesHeader; c: BundleRecordsHeader };

function packBundle(bundle: Bundle): Buffer {
  const values = [...bundle.values.values()];
  const records = [...bundle.records];
  const header: BundleHeader = {
    v: values.map((v) => [v.channel, v.version, v.type, v.bytes.byteLength]),
    c: records.map(([id, record]) => [id, ...recordHeader(record)]),
  };
  return pack(
    header,
    [
      ...values.map((value) => value.bytes),
      ...records.flatMap(([, record]) => [record.checkpoint.bytes, record.metadata.bytes]),
    ],
    true,
  );
}

function unpackBundle(stored: Uint8Array): Bundle {
  const [header, next] = unpack<BundleHeader>(stored);
  const [valuesHeader, recordsHeader] = Array.isArray(header) ? [header, []] : [header.v, header.c];
  const bundle = emptyBundle();
  for (const [channel, version, type, length] of valuesHeader) {
    bundle.values.set(bundleSlot(channel, version), { channel, version, type, bytes: next(length) });
  }
  for (const [
    id,
    checkpointType,
    checkpointLength,
    metadataType,
    metadataLength,
    parentId,
  ] of recordsHeader) {
    bundle.records.set(id, {
      checkpoint: { type: checkpointType, bytes: next(checkpointLength) },
      metadata: { type: metadataType, bytes: next(metadataLength) },
      parentId: parentId ?? undefined,
    });
  }
  return bundle;
}

type WritesHeader = [idx: number, channel: string, type: string, length: number][];

function packWrites(writes: DumpedWrite[]): Buffer {
  const header: WritesHeader = writes.map((w) => [w.idx, w.channel, w.type, w.bytes.byteLength]);
  return pack(
    header,
    writes.map((write) => write.bytes),
  );
}

function unpackWrites(stored: Uint8Array): Omit<StoredWrite, "taskId">[] {
  const [header, next] = unpack<WritesHeader>(stored);
  return header.map(([idx, channel, type, length]) => ({ idx, channel, type, bytes: next(length) }));
}
