/**
 * What the SQLite and Redis checkpointers share: reading thread, namespace and checkpoint ids from a
 * config, the channel version scheme, serialising a checkpoint, its channel values and pending writes,
 * the metadata filter of `list`, the pending-sends migration of pre-v4 checkpoints, and compression.
 */
import { isDeepStrictEqual } from "node:util";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import type { RunnableConfig } from "@langchain/core/runnables";
import {
  type ChannelVersions,
  type Checkpoint,
  type CheckpointMetadata,
  copyCheckpoint,
  maxChannelVersion,
  type PendingWrite,
  type SerializerProtocol,
  TASKS,
  WRITES_IDX_MAP,
} from "@langchain/langgraph-checkpoint";
import { deflateJson, inflateJson } from "../../store/json-deflate.ts";

/** One channel value, ready to store once per (channel, version). */
export interface DumpedBlob {
  channel: string;
  version: string;
  /** "empty" (with no bytes) for a channel that was updated to nothing. */
  type: string;
  bytes: Uint8Array | null;
}

/** One pending write, ready to store under (task id, idx). */
export interface DumpedWrite {
  idx: number;
  channel: string;
  type: string;
  bytes: Uint8Array;
}

/** A checkpoint serialised for `put`: the checkpoint without its channel values, the metadata, the values. */
export interface DumpedCheckpoint {
  type: string;
  bytes: Uint8Array;
  metadataType: string;
  metadataBytes: Uint8Array;
  /** The channel versions of the stored copy, for finding its blobs again. */
  channelVersions: ChannelVersions;
  blobs: DumpedBlob[];
}

export function nonEmptyString(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

export function threadIdOf(config: RunnableConfig): string | undefined {
  const threadId: unknown = config.configurable?.thread_id;
  if (threadId === undefined || threadId === null) return undefined;
  if (typeof threadId !== "string") throw new TypeError("config.configurable.thread_id must be a string");
  return threadId;
}

export function requireThreadId(config: RunnableConfig, method: string): string {
  const threadId = threadIdOf(config);
  if (threadId === undefined) {
    throw new Error(
      `Failed to ${method}: config.configurable has no "thread_id" (pass one to invoke/stream).`,
    );
  }
  return threadId;
}

export function namespaceOf(config: RunnableConfig): string {
  const ns: unknown = config.configurable?.checkpoint_ns;
  return typeof ns === "string" ? ns : "";
}

/** Where `putWrites` stores: the thread, namespace and checkpoint the config names (the latter two required). */
export function writesTarget(config: RunnableConfig): { threadId: string; ns: string; checkpointId: string } {
  const threadId = requireThreadId(config, "putWrites");
  const checkpointId = nonEmptyString(config.configurable?.checkpoint_id);
  if (checkpointId === undefined) {
    throw new Error('Failed to put writes: config.configurable has no "checkpoint_id".');
  }
  return { threadId, ns: namespaceOf(config), checkpointId };
}

/**
 * The savers' `getNextVersion`. The integer part counts up as in the default. The random fraction keeps a
 * fork of a thread (replay or `updateState` from an older checkpoint) from minting a version that is
 * already stored with another value, since a (channel, version) blob is written once and shared.
 */
export function nextChannelVersion(current: number | undefined): number {
  return Math.floor(current ?? 0) + 1 + Math.random();
}

/** Whether a checkpoint's metadata has every key/value of a `list` filter. */
export function matchesFilter(metadata: CheckpointMetadata, filter: [string, unknown][]): boolean {
  const fields = metadata as Record<string, unknown>;
  return filter.every(([key, value]) => isDeepStrictEqual(fields[key], value));
}

/** Special channels get fixed negative indexes so they never collide with a task's ordinary writes. */
export function writeIdx(channel: string, idx: number): number {
  return Object.hasOwn(WRITES_IDX_MAP, channel) ? (WRITES_IDX_MAP[channel] ?? idx) : idx;
}

/**
 * As MemorySaver: a retried task keeps the writes it saved first, while the special channels
 * (error, interrupt, resume, scheduled) always hold the latest value.
 */
export function replacesStoredWrite(write: DumpedWrite): boolean {
  return write.idx < 0;
}

export async function dumpCheckpoint(
  serde: SerializerProtocol,
  checkpoint: Checkpoint,
  metadata: CheckpointMetadata,
  newVersions: ChannelVersions,
): Promise<DumpedCheckpoint> {
  const stored = copyCheckpoint(checkpoint);
  const [[type, bytes], [metadataType, metadataBytes], blobs] = await Promise.all([
    serde.dumpsTyped({ ...stored, channel_values: {} }),
    serde.dumpsTyped(metadata),
    dumpBlobs(serde, stored.channel_values, newVersions),
  ]);
  return { type, bytes, metadataType, metadataBytes, channelVersions: stored.channel_versions, blobs };
}

/** The values of the channels in `versions`. */
export function dumpBlobs(
  serde: SerializerProtocol,
  values: Record<string, unknown>,
  versions: ChannelVersions,
): Promise<DumpedBlob[]> {
  return Promise.all(
    Object.entries(versions).map(async ([channel, version]): Promise<DumpedBlob> => {
      // A channel that was updated to nothing still needs an entry, or an older version would show through.
      if (!Object.hasOwn(values, channel))
        return { channel, version: String(version), type: "empty", bytes: null };
      const [type, bytes] = await serde.dumpsTyped(values[channel]);
      return { channel, version: String(version), type, bytes };
    }),
  );
}

export function dumpWrites(serde: SerializerProtocol, writes: PendingWrite[]): Promise<DumpedWrite[]> {
  return Promise.all(
    writes.map(async ([channel, value], idx) => {
      const [type, bytes] = await serde.dumpsTyped(value);
      return { idx: writeIdx(channel, idx), channel, type, bytes };
    }),
  );
}

/**
 * Checkpoints before format v4 kept pending sends as the parent's TASKS writes: puts them back as the
 * TASKS channel, at the checkpoint's newest version (or `firstVersion()` when it has none).
 */
export function restorePendingSends(
  checkpoint: Checkpoint,
  sends: unknown[],
  firstVersion: () => number,
): void {
  checkpoint.channel_values[TASKS] = sends;
  const versions = Object.values(checkpoint.channel_versions);
  checkpoint.channel_versions[TASKS] = versions.length > 0 ? maxChannelVersion(...versions) : firstVersion();
}

/**
 * Serialised values at least this long are stored deflated: a lead's JSON state shrinks to about a third,
 * for some 40 µs per 5 KB. Shorter ones gain too little to pay for the CPU.
 */
export const COMPRESS_MIN_BYTES = 512;

// First byte of a value stored by `withMarker`. (The Redis saver's one-byte stub is a 2 alone.)
const RAW = 0;
const DEFLATED = 1;
const DEFLATED_WITH_DICTIONARY = 3;

/**
 * `bytes` behind a one-byte marker: deflated (raw DEFLATE, no header, with the preset JSON dictionary)
 * when `deflate` allows and they are long enough, else as they are.
 */
export function withMarker(bytes: Uint8Array, deflate = true): Buffer {
  if (deflate && bytes.byteLength >= COMPRESS_MIN_BYTES) {
    const deflated = deflateJson(bytes);
    if (deflated.byteLength < bytes.byteLength)
      return Buffer.concat([Buffer.of(DEFLATED_WITH_DICTIONARY), deflated]);
  }
  return Buffer.concat([Buffer.of(RAW), bytes]);
}

/** The bytes `withMarker` was given (or an earlier version, which deflated without the dictionary). */
export function withoutMarker(stored: Uint8Array): Buffer {
  const body = Buffer.from(stored.buffer, stored.byteOffset + 1, stored.byteLength - 1);
  switch (stored[0]) {
    case RAW:
      return body;
    case DEFLATED:
      return inflateRawSync(body);
    case DEFLATED_WITH_DICTIONARY:
      return inflateJson(body);
    default:
      throw new Error(`Corrupt checkpoint value: unknown marker ${String(stored[0])}`);
  }
}

// Where a serde type is stored alongside its bytes (SQLite columns), the type says whether they are deflated.
const DEFLATED_TYPE = "deflate:";

/** A serde [type, bytes] pair as stored: deflated, with the type saying so, when that makes it smaller. */
export function compressTyped(type: string, bytes: Uint8Array): [string, Uint8Array] {
  if (bytes.byteLength < COMPRESS_MIN_BYTES) return [type, bytes];
  const deflated = deflateRawSync(bytes);
  return deflated.byteLength < bytes.byteLength ? [`${DEFLATED_TYPE}${type}`, deflated] : [type, bytes];
}

/** Undoes `compressTyped`; pairs stored before compression existed come back unchanged. */
export function decompressTyped(type: string, bytes: Uint8Array): [string, Uint8Array] {
  if (!type.startsWith(DEFLATED_TYPE)) return [type, bytes];
  const inflated = inflateRawSync(bytes);
  return [
    type.slice(DEFLATED_TYPE.length),
    new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.byteLength),
  ];
}
