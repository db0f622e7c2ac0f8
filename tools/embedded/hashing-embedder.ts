import { PROFILE_KEY_WEIGHTS } from "../../domain/accounts/profile.ts";
import type { SparseEmbedder, SparseVector } from "./sparse-vector.ts";

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
  // ASCII text is its own UTF-8: hashed without encoding it first.
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) return fnv1aBytes(hash, encoder.encode(text.slice(i)));
    hash ^= code;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function fnv1aBytes(start: number, bytes: Uint8Array): number {
  let hash = start;
  for (const byte of bytes) {
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
  return lowerCaseLines(text).flatMap((line) => tokenizeLine(line, keyWeights));
}

/** The text's non-empty lines (or sentences), lower case and trimmed: what tokens are taken from. */
function lowerCaseLines(text: string): string[] {
  const lines: string[] = [];
  for (const rawLine of text.toLowerCase().split(/\r?\n|\.\s+/)) {
    const line = rawLine.trim();
    if (line !== "") lines.push(line);
  }
  return lines;
}

function tokenizeLine(line: string, keyWeights: Readonly<Record<string, number>>): WeightedToken[] {
  const tokens: WeightedToken[] = [];
  const keyed = KEY_LINE.exec(line);
  const body = keyed ? keyed[2]! : line;
  if (keyed) {
    const key = keyed[1]!;
    const items = body.split(",").map((v) => v.trim().replace(/\s+/g, " ").replace(/\.$/, ""));
    for (const item of items)
      if (item !== "") tokens.push({ token: `${key}=${item}`, weight: keyWeights[key] ?? STRUCTURED_WEIGHT });
  }
  for (const match of body.matchAll(WORD)) {
    const word = match[0];
    if (!STOP_WORDS.has(word)) tokens.push({ token: word, weight: WORD_WEIGHT });
  }
  return tokens;
}

// Lines and texts remembered per embedder: profile texts are made of a few hundred distinct lines, and
// leads share profiles (a sparse vector is some 200 bytes). A corpus is embedded through `bulkSparse`,
// whose memory is its own, so these caches stay the size queries need.
const LINE_CACHE_SIZE = 10_000;
const TEXT_CACHE_SIZE = 20_000;

/**
 * Feature hashing (the "hashing trick"): each token adds ±weight to one bucket, the sign taken
 * from an independent bit of the hash so that collisions cancel out on average instead of piling up. Needs no
 * model, no network and no training, and gives identical vectors for identical text, which keeps
 * the embedded profile and its tests deterministic.
 */
export class HashingEmbedder implements SparseEmbedder {
  readonly name = "hashing";
  readonly dimension: number;
  readonly #keyWeights: Readonly<Record<string, number>>;
  /** A line's contributions: bucket and signed weight, flattened, in token order. */
  readonly #lines = new Map<string, number[]>();
  readonly #texts = new Map<string, SparseVector>();
  /** Per-bucket sums while a text is embedded; all zero in between. */
  readonly #scratch: Float64Array;
  /** Zeros in V8's unboxed-double array layout, copied for each vector so no element is ever converted. */
  readonly #zeros: number[];

  constructor(options: HashingEmbedderOptions = {}) {
    const dimension = options.dimension ?? 256;
    if (!Number.isInteger(dimension) || dimension < 1)
      throw new RangeError(`dimension must be a positive integer, got ${dimension}`);
    this.dimension = dimension;
    this.#keyWeights = options.keyWeights ?? {};
    this.#scratch = new Float64Array(dimension);
    this.#zeros = Array.from({ length: dimension }, () => 0.5).fill(0);
  }

  async embed(texts: string[]): Promise<number[][]> {
    return texts.map((text) => this.embedOne(text));
  }

  embedOne(text: string): number[] {
    const { indices, values } = this.embedSparse(text);
    const vector = this.#zeros.slice();
    for (let i = 0; i < indices.length; i++) vector[indices[i] as number] = values[i] as number;
    return vector;
  }

  /** The text's unit vector as its non-zero buckets (ascending) and values: `embedOne`'s, without the zeros. */
  embedSparse(text: string): SparseVector {
    const cached = this.#texts.get(text);
    if (cached) return cached;
    const vector = this.#compute(text);
    if (this.#texts.size >= TEXT_CACHE_SIZE) this.#texts.clear();
    this.#texts.set(text, vector);
    return vector;
  }

  /** For a corpus: remembers its own texts (as many as the query cache would), dropped with the function. */
  bulkSparse(): (text: string) => SparseVector {
    const seen = new Map<string, SparseVector>();
    return (text) => {
      let vector = seen.get(text);
      if (vector === undefined) {
        vector = this.#compute(text);
        if (seen.size >= TEXT_CACHE_SIZE) seen.clear();
        seen.set(text, vector);
      }
      return vector;
    };
  }

  #compute(text: string): SparseVector {
    const sums = this.#scratch;
    const touched: number[] = [];
    for (const line of lowerCaseLines(text)) {
      const contributions = this.#lineContributions(line);
      for (let i = 0; i < contributions.length; i += 2) {
        const bucket = contributions[i] as number;
        if (!touched.includes(bucket)) touched.push(bucket);
        sums[bucket] = (sums[bucket] as number) + (contributions[i + 1] as number);
      }
    }
    touched.sort((a, b) => a - b);
    // In bucket order, as a sum over the dense vector would add them (the zeros add nothing).
    let sumOfSquares = 0;
    for (const bucket of touched) sumOfSquares += (sums[bucket] as number) * (sums[bucket] as number);
    const norm = Math.sqrt(sumOfSquares);
    const indices: number[] = [];
    const values: number[] = [];
    for (const bucket of touched) {
      const sum = sums[bucket] as number;
      sums[bucket] = 0;
      // An empty text stays the zero vector: its cosine with anything is 0, which is the honest answer.
      if (sum === 0 || norm === 0) continue;
      indices.push(bucket);
      values.push(sum / norm);
    }
    return { dimension: this.dimension, indices, values };
  }

  /** Each token of the line as its bucket and signed weight, the same numbers on every call. */
  #lineContributions(line: string): number[] {
    const cached = this.#lines.get(line);
    if (cached) return cached;
    const contributions: number[] = [];
    for (const { token, weight } of tokenizeLine(line, this.#keyWeights)) {
      const hash = mix(fnv1a(token));
      contributions.push((hash & 0x7fffffff) % this.dimension, hash & 0x80000000 ? -weight : weight);
    }
    if (this.#lines.size >= LINE_CACHE_SIZE) this.#lines.clear();
    this.#lines.set(line, contributions);
    return contributions;
  }
}

/** The embedded default: company profiles (tools/embeddings/text.ts) with industry weighted first. */
export function createProfileEmbedder(): HashingEmbedder {
  return new HashingEmbedder({ dimension: 512, keyWeights: PROFILE_KEY_WEIGHTS });
}
