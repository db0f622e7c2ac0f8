import { PROFILE_KEY_WEIGHTS } from "../../domain/accounts/profile.ts";
import type { Embedder } from "../ports.ts";

export interface HashingEmbedderOptions {
  /** Number of buckets; default 256. */
  dimension?: number;
  /** Weight of the `key=value` token of each key (default 2), e.g. to make industry count more than size. */
  keyWeights?: Readonly<Record<string, number>>;
}

export interface WeightedToken {
  token: string;
  weight: number;
}

/** Structured `key=value` tokens outweigh loose words: an exact industry or country match says more than one shared word. */
const STRUCTURED_WEIGHT = 2;
const WORD_WEIGHT = 1;
// Words every profile text shares would make all vectors look alike.
const STOP_WORDS = new Set(["a", "an", "and", "the", "of", "in", "for", "to", "on", "with", "employees"]);
const KEY_LINE = /^([a-z][a-z0-9_-]*):\s*(.+)$/;
const WORD = /[\p{L}\p{N}]+(?:[-+.][\p{L}\p{N}]+)*/gu;

const encoder = new TextEncoder();

/** 32-bit FNV-1a over the UTF-8 bytes: stable across runs, processes and Node versions. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of encoder.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** MurmurHash3's finaliser: FNV-1a alone leaves the low bits (the bucket) poorly mixed for short tokens. */
function mix(hash: number): number {
  let h = hash;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Lower-case words, plus a `key=value` token per `key: value` line (one per item for
 * comma-separated values) so that the profile texts from `text.ts` match field by field.
 */
export function tokenize(text: string, keyWeights: Readonly<Record<string, number>> = {}): WeightedToken[] {
  const tokens: WeightedToken[] = [];
  for (const rawLine of text.toLowerCase().split(/\r?\n|\.\s+/)) {
    const line = rawLine.trim();
    if (line === "") continue;
    const keyed = KEY_LINE.exec(line);
    const body = keyed ? keyed[2]! : line;
    if (keyed) {
      const key = keyed[1]!;
      const items = body.split(",").map((v) => v.trim().replace(/\s+/g, " ").replace(/\.$/, ""));
      for (const item of items)
        if (item !== "")
          tokens.push({ token: `${key}=${item}`, weight: keyWeights[key] ?? STRUCTURED_WEIGHT });
    }
    for (const match of body.matchAll(WORD)) {
      const word = match[0];
      if (!STOP_WORDS.has(word)) tokens.push({ token: word, weight: WORD_WEIGHT });
    }
  }
  return tokens;
}

/**
 * Feature hashing (the "hashing trick"): each token adds ±weight to one bucket, the sign taken
 * from an independent bit of the hash so that collisions cancel out on average instead of piling up. Needs no
 * model, no network and no training, and gives identical vectors for identical text, which keeps
 * the embedded profile and its tests deterministic.
 */
export class HashingEmbedder implements Embedder {
  readonly name = "hashing";
  readonly dimension: number;
  readonly #keyWeights: Readonly<Record<string, number>>;

  constructor(options: HashingEmbedderOptions = {}) {
    const dimension = options.dimension ?? 256;
    if (!Number.isInteger(dimension) || dimension < 1)
      throw new RangeError(`dimension must be a positive integer, got ${dimension}`);
    this.dimension = dimension;
    this.#keyWeights = options.keyWeights ?? {};
  }

  async embed(texts: string[]): Promise<number[][]> {
    return texts.map((text) => this.embedOne(text));
  }

  embedOne(text: string): number[] {
    const vector = new Array<number>(this.dimension).fill(0);
    for (const { token, weight } of tokenize(text, this.#keyWeights)) {
      const hash = mix(fnv1a(token));
      const bucket = (hash & 0x7fffffff) % this.dimension;
      const sign = hash & 0x80000000 ? -1 : 1;
      vector[bucket] = (vector[bucket] ?? 0) + sign * weight;
    }
    let sumOfSquares = 0;
    for (const v of vector) sumOfSquares += v * v;
    const norm = Math.sqrt(sumOfSquares);
    // An empty text stays the zero vector: its cosine with anything is 0, which is the honest answer.
    return norm === 0 ? vector : vector.map((v) => v / norm);
  }
}

/** The embedded default: company profiles (tools/embeddings/text.ts) with industry weighted first. */
export function createProfileEmbedder(): HashingEmbedder {
  return new HashingEmbedder({ dimension: 512, keyWeights: PROFILE_KEY_WEIGHTS });
}
