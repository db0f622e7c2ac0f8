/**
 * Over 300 lines because slots, distinct vectors, their pools and the posting lists are one structure whose
 * invariants (reference counts, compaction and renumbering, stale postings) every method keeps; split up, each
 * part would have to expose them. The heap (top-k.ts) and the sparse types (sparse-vector.ts) are apart.
 */
import type { PastAccount } from "../../domain/types.ts";
import type { AccountFilter, VectorMatch } from "../ports.ts";
import type { SparseRecord, SparseVector, SparseVectorIndex } from "./sparse-vector.ts";
import { TopK } from "./top-k.ts";

/**
 * The embedded similar-accounts index: exact cosine similarity over an inverted index, so a query costs what
 * its non-zero dimensions touch, not the whole corpus. Profile vectors from the hashing embedder have a dozen
 * non-zero values out of 512 and repeat (accounts share industry, size band and place), so each distinct
 * vector is stored once, sparsely (its non-zero dimensions and values in two shared typed arrays), each
 * account points to its vector, and the index is a posting list per dimension over the distinct vectors,
 * rebuilt after a batch of upserts. A query scores each distinct vector once, then every account takes its
 * vector's score. A corpus can be loaded sparsely (`upsertSparse`, from the embedder's sparse vectors) without
 * ever taking the dense form; dense `upsert` stores the same thing.
 *
 * Scores are bit-for-bit those of a dense dot product divided by both norms: each vector's sum takes its
 * terms in ascending dimension order, as the dense loop over the query's non-zero dimensions did, and the
 * terms skipped are exact zeros; a norm is likewise summed over the non-zero values in ascending order, the
 * zeros of the dense sum adding exactly nothing; accounts share a vector only when its values are equal
 * (`===`, never ±0 or NaN), so they would have had equal scores. The top k are picked with a heap under the
 * same order as before: higher score first, then the smaller id.
 */
export class MemoryVectorIndex implements SparseVectorIndex {
  readonly name = "memory";
  #dimension: number | undefined;
  /**
   * Id → slot, built on the first id that does not sort after every id so far: until then an id past the last
   * is new without a lookup (a corpus written by `leadgraph accounts index` is sorted by id).
   */
  #slotOf: Map<string, number> | undefined;
  readonly #ids: string[] = [];
  readonly #accounts: PastAccount[] = [];
  /** Each slot's vector. */
  #vectorOf = new Int32Array(0);
  // Per vector, in typed arrays grown by doubling: its norm, how many slots point to it, its content's hash,
  // and its entries: `#length[v]` of the pools from `#start[v]`. A vector no slot points to stays until the
  // pools are compacted.
  #vectors = 0;
  #norms = new Float64Array(0);
  #refs = new Int32Array(0);
  #hashes = new Int32Array(0);
  #start = new Int32Array(0);
  #length = new Int32Array(0);
  /** Content hash → a vector with that content; two contents with one hash simply do not share. */
  #byHash = new Map<number, number>();
  #poolDims = new Int32Array(1024);
  #poolValues = new Float64Array(1024);
  #poolUsed = 0;
  #postings: Postings | undefined;
  #scores = new Float64Array(0);

  get size(): number {
    return this.#ids.length;
  }

  async upsert(records: Array<{ id: string; values: number[]; account: PastAccount }>): Promise<void> {
    if (records.length > 0) this.#postings = undefined;
    for (const record of records) {
      this.#checkDimension(record.id, record.values.length);
      const { values } = record;
      this.#reserve(values.length);
      let at = this.#poolUsed;
      for (let d = 0; d < values.length; d++) {
        const v = values[d] as number;
        if (v === 0) continue;
        this.#poolDims[at] = d;
        this.#poolValues[at] = v;
        at++;
      }
      this.#point(this.#slot(record.id, { ...record.account }), at);
    }
  }

  async upsertSparse(records: ReadonlyArray<SparseRecord>): Promise<void> {
    if (records.length > 0) this.#postings = undefined;
    for (const { id, vector, account } of records) {
      this.#checkDimension(id, vector.dimension);
      checkSparse(id, vector);
      const { indices, values } = vector;
      this.#reserve(indices.length);
      let at = this.#poolUsed;
      for (let i = 0; i < indices.length; i++) {
        const v = values[i] as number;
        if (v === 0) continue;
        this.#poolDims[at] = indices[i] as number;
        this.#poolValues[at] = v;
        at++;
      }
      this.#point(this.#slot(id, account), at);
    }
  }

  async query(vector: number[], options: { topK: number; filter?: AccountFilter }): Promise<VectorMatch[]> {
    const dimension = this.#dimension;
    if (dimension !== undefined && vector.length !== dimension)
      throw new Error(`query vector has ${vector.length} dimensions, the index has ${dimension}`);
    const topK = Math.max(0, Math.trunc(options.topK));
    const count = this.#ids.length;
    if (topK === 0 || count === 0) return [];
    const postings = this.#index();
    const vectors = this.#vectors;
    const scores = this.#scoreBuffer(vectors);
    for (let d = 0; d < vector.length; d++) {
      const q = vector[d] as number;
      if (q === 0) continue;
      for (let p = postings.offsets[d] as number, end = postings.offsets[d + 1] as number; p < end; p++) {
        const v = postings.vectors[p] as number;
        scores[v] = (scores[v] as number) + q * (postings.values[p] as number);
      }
    }
    const queryNorm = norm(vector);
    const norms = this.#norms;
    for (let v = 0; v < vectors; v++) {
      const denominator = queryNorm * (norms[v] as number);
      scores[v] = denominator === 0 ? 0 : (scores[v] as number) / denominator;
    }
    const filter = Object.entries(options.filter ?? {}).filter(([, v]) => v !== undefined) as Array<
      [keyof AccountFilter, string]
    >;
    const accounts = this.#accounts;
    const { slotOffsets, slots } = postings;
    // Every slot takes its vector's score; a vector scoring below the k-th best so far cannot bring one in,
    // and the heap's order (score, then the unique id) is total for scores that are numbers, so the order
    // slots are offered in changes nothing.
    const best = new TopK(Math.min(topK, count), this.#ids);
    for (let v = 0; v < vectors; v++) {
      const score = scores[v] as number;
      if (best.full && score < best.worstScore) continue;
      for (let i = slotOffsets[v] as number, end = slotOffsets[v + 1] as number; i < end; i++) {
        const slot = slots[i] as number;
        if (filter.length > 0) {
          const account = accounts[slot] as PastAccount;
          if (!filter.every(([key, value]) => account[key] === value)) continue;
        }
        best.offer(slot, score);
      }
    }
    // Only the matches returned are copied, so callers cannot mutate the index.
    return best.sorted().map(({ slot, score }) => ({
      id: this.#ids[slot] as string,
      score,
      account: { ...(this.#accounts[slot] as PastAccount) },
    }));
  }

  #checkDimension(id: string, length: number): void {
    const dimension = this.#dimension;
    if (dimension !== undefined && length !== dimension)
      throw new Error(`vector ${id} has ${length} dimensions, the index has ${dimension}`);
    this.#dimension = length;
  }

  /** The id's slot, a new one at the end for a new id (pointing to no vector yet), holding `account`. */
  #slot(id: string, account: PastAccount): number {
    const ids = this.#ids;
    let slot: number | undefined;
    if (this.#slotOf === undefined && !(ids.length === 0 || (ids[ids.length - 1] as string) < id)) {
      this.#slotOf = new Map();
      for (let i = 0; i < ids.length; i++) this.#slotOf.set(ids[i] as string, i);
    }
    if (this.#slotOf !== undefined) slot = this.#slotOf.get(id);
    if (slot === undefined) {
      slot = this.#ids.length;
      if (slot === this.#vectorOf.length) {
        const vectorOf = new Int32Array(Math.max(1024, slot * 2)).fill(-1);
        vectorOf.set(this.#vectorOf);
        this.#vectorOf = vectorOf;
      }
      this.#slotOf?.set(id, slot);
      ids.push(id);
    }
    this.#accounts[slot] = account;
    return slot;
  }

  /**
   * Points the slot to the vector just written at the pools' free end (up to `end`): to an equal vector
   * already stored if there is one (the entries written are then dropped), else to a new one.
   */
  #point(slot: number, end: number): void {
    const start = this.#poolUsed;
    const hash = hashEntries(this.#poolDims, this.#poolValues, start, end);
    let vector = this.#byHash.get(hash);
    if (vector === undefined || !this.#holds(vector, start, end)) {
      let sumOfSquares = 0;
      for (let i = start; i < end; i++) {
        const v = this.#poolValues[i] as number;
        sumOfSquares += v * v;
      }
      vector = this.#addVector(start, end, Math.sqrt(sumOfSquares), hash);
      this.#poolUsed = end;
    }
    const old = this.#vectorOf[slot] as number;
    if (old >= 0) this.#refs[old] = (this.#refs[old] as number) - 1;
    this.#refs[vector] = (this.#refs[vector] as number) + 1;
    this.#vectorOf[slot] = vector;
  }

  /** Whether the vector's entries are those of the pools' [start, end). */
  #holds(vector: number, start: number, end: number): boolean {
    const from = this.#start[vector] as number;
    if ((this.#length[vector] as number) !== end - start) return false;
    for (let i = 0; i < end - start; i++)
      if (
        this.#poolDims[from + i] !== this.#poolDims[start + i] ||
        this.#poolValues[from + i] !== this.#poolValues[start + i]
      )
        return false;
    return true;
  }

  #addVector(start: number, end: number, norm: number, hash: number): number {
    const vector = this.#vectors++;
    if (vector === this.#norms.length) this.#growVectors(Math.max(1024, vector * 2));
    this.#norms[vector] = norm;
    this.#refs[vector] = 0;
    this.#hashes[vector] = hash;
    this.#start[vector] = start;
    this.#length[vector] = end - start;
    if (!this.#byHash.has(hash)) this.#byHash.set(hash, vector);
    return vector;
  }

  #growVectors(capacity: number): void {
    const grow = <T extends Float64Array | Int32Array>(from: T, to: T): T => {
      to.set(from.subarray(0, this.#vectors));
      return to;
    };
    this.#norms = grow(this.#norms, new Float64Array(capacity));
    this.#refs = grow(this.#refs, new Int32Array(capacity));
    this.#hashes = grow(this.#hashes, new Int32Array(capacity));
    this.#start = grow(this.#start, new Int32Array(capacity));
    this.#length = grow(this.#length, new Int32Array(capacity));
  }

  /**
   * Room in the pools for `more` entries past the vectors stored, dropping the vectors no slot points to
   * (overwritten ones) when the pools are full.
   */
  #reserve(more: number): void {
    const needed = this.#poolUsed + more;
    if (needed <= this.#poolDims.length) return;
    const renumbered = new Int32Array(this.#vectors);
    let live = 0;
    let entries = 0;
    for (let v = 0; v < this.#vectors; v++) {
      renumbered[v] = -1;
      if ((this.#refs[v] as number) === 0) continue;
      renumbered[v] = live++;
      entries += this.#length[v] as number;
    }
    const capacity = Math.max(more + entries, 1024) * 2;
    const dims = new Int32Array(capacity);
    const values = new Float64Array(capacity);
    this.#byHash.clear();
    let at = 0;
    for (let v = 0; v < this.#vectors; v++) {
      const to = renumbered[v] as number;
      if (to < 0) continue;
      const start = this.#start[v] as number;
      const length = this.#length[v] as number;
      dims.set(this.#poolDims.subarray(start, start + length), at);
      values.set(this.#poolValues.subarray(start, start + length), at);
      this.#norms[to] = this.#norms[v] as number;
      this.#refs[to] = this.#refs[v] as number;
      this.#hashes[to] = this.#hashes[v] as number;
      this.#start[to] = at;
      this.#length[to] = length;
      if (!this.#byHash.has(this.#hashes[to] as number)) this.#byHash.set(this.#hashes[to] as number, to);
      at += length;
    }
    for (let slot = 0; slot < this.#ids.length; slot++) {
      const v = this.#vectorOf[slot] as number;
      if (v >= 0) this.#vectorOf[slot] = renumbered[v] as number;
    }
    this.#vectors = live;
    this.#poolDims = dims;
    this.#poolValues = values;
    this.#poolUsed = at;
  }

  /**
   * The posting lists over the vectors some slot points to, and each vector's slots, built on the first query
   * after a change.
   */
  #index(): Postings {
    if (this.#postings) return this.#postings;
    const dimension = this.#dimension ?? 0;
    const vectorCount = this.#vectors;
    const refs = this.#refs;
    const starts = this.#start;
    const lengths = this.#length;
    const dims = this.#poolDims;
    const poolValues = this.#poolValues;
    const offsets = new Int32Array(dimension + 1);
    for (let v = 0; v < vectorCount; v++) {
      if ((refs[v] as number) === 0) continue;
      for (let i = starts[v] as number, end = i + (lengths[v] as number); i < end; i++) {
        const d = (dims[i] as number) + 1;
        offsets[d] = (offsets[d] as number) + 1;
      }
    }
    for (let d = 0; d < dimension; d++) offsets[d + 1] = (offsets[d + 1] as number) + (offsets[d] as number);
    const total = offsets[dimension] as number;
    const vectors = new Int32Array(total);
    const values = new Float64Array(total);
    const next = offsets.slice(0, dimension);
    for (let v = 0; v < vectorCount; v++) {
      if ((refs[v] as number) === 0) continue;
      for (let i = starts[v] as number, end = i + (lengths[v] as number); i < end; i++) {
        const d = dims[i] as number;
        const at = next[d] as number;
        vectors[at] = v;
        values[at] = poolValues[i] as number;
        next[d] = at + 1;
      }
    }
    // Each vector's slots, in slot order.
    const count = this.#ids.length;
    const vectorOf = this.#vectorOf;
    const slotOffsets = new Int32Array(vectorCount + 1);
    for (let v = 0; v < vectorCount; v++)
      slotOffsets[v + 1] = (slotOffsets[v] as number) + (refs[v] as number);
    const slots = new Int32Array(count);
    const nextSlot = slotOffsets.slice(0, vectorCount);
    for (let slot = 0; slot < count; slot++) {
      const v = vectorOf[slot] as number;
      const at = nextSlot[v] as number;
      slots[at] = slot;
      nextSlot[v] = at + 1;
    }
    this.#postings = { offsets, vectors, values, slotOffsets, slots };
    return this.#postings;
  }

  #scoreBuffer(count: number): Float64Array {
    if (this.#scores.length < count) this.#scores = new Float64Array(count);
    const scores = this.#scores;
    scores.fill(0, 0, count);
    return scores;
  }
}

interface Postings {
  /** Dimension d's postings are at [offsets[d], offsets[d + 1]). */
  offsets: Int32Array;
  /** The vector of each posting. */
  vectors: Int32Array;
  values: Float64Array;
  /** Vector v's slots are `slots` [slotOffsets[v], slotOffsets[v + 1]). */
  slotOffsets: Int32Array;
  slots: Int32Array;
}

function norm(v: number[]): number {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += (v[i] ?? 0) * (v[i] ?? 0);
  return Math.sqrt(sum);
}

/** A sparse vector's indices must be whole, ascending and inside its dimension, with a value each. */
function checkSparse(id: string, vector: SparseVector): void {
  const { dimension, indices, values } = vector;
  if (indices.length !== values.length)
    throw new Error(`vector ${id} has ${indices.length} indices and ${values.length} values`);
  let previous = -1;
  for (const index of indices) {
    if (!Number.isInteger(index) || index <= previous || index >= dimension)
      throw new Error(`vector ${id}: index ${index} is not ascending within ${dimension} dimensions`);
    previous = index;
  }
}

const hashBits = new Float64Array(1);
const hashWords = new Int32Array(hashBits.buffer);

/** FNV-1a over the entries' dimensions and value bits: equal entries, equal hash. */
function hashEntries(dims: Int32Array, values: Float64Array, start: number, end: number): number {
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    hashBits[0] = values[i] as number;
    hash = Math.imul(hash ^ (dims[i] as number), 0x01000193);
    hash = Math.imul(hash ^ (hashWords[0] as number), 0x01000193);
    hash = Math.imul(hash ^ (hashWords[1] as number), 0x01000193);
  }
  // Small enough to be a V8 small integer: a Map key that allocates nothing.
  return hash & 0x3fffffff;
}
