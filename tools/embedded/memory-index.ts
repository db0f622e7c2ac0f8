import type { PastAccount } from "../../domain/types.ts";
import type { AccountFilter, VectorIndex, VectorMatch } from "../ports.ts";

/**
 * The embedded similar-accounts index: exact cosine similarity over an inverted index, so a query costs what
 * its non-zero dimensions touch, not the whole corpus. Profile vectors from the hashing embedder have a dozen
 * non-zero values out of 512, so each account is stored sparsely (its non-zero dimensions and values in two
 * shared typed arrays) and the index is a posting list per dimension, rebuilt after a batch of upserts.
 *
 * Scores are bit-for-bit those of a dense dot product divided by both norms: each account's sum takes its
 * terms in ascending dimension order, as the dense loop over the query's non-zero dimensions did, and the
 * terms skipped are exact zeros. The top k are picked with a heap under the same order as before: higher
 * score first, then the smaller id.
 */
export class MemoryVectorIndex implements VectorIndex {
  readonly name = "memory";
  #dimension: number | undefined;
  readonly #slotOf = new Map<string, number>();
  readonly #ids: string[] = [];
  readonly #accounts: PastAccount[] = [];
  readonly #norms: number[] = [];
  // Each slot's sparse vector: `#length[slot]` entries of the pools from `#start[slot]`.
  readonly #start: number[] = [];
  readonly #length: number[] = [];
  #poolDims = new Int32Array(1024);
  #poolValues = new Float64Array(1024);
  #poolUsed = 0;
  #postings: Postings | undefined;
  #scores = new Float64Array(0);

  get size(): number {
    return this.#ids.length;
  }

  async upsert(records: Array<{ id: string; values: number[]; account: PastAccount }>): Promise<void> {
    for (const record of records) {
      const dimension = this.#dimension;
      if (dimension !== undefined && record.values.length !== dimension)
        throw new Error(
          `vector ${record.id} has ${record.values.length} dimensions, the index has ${dimension}`,
        );
      this.#dimension = record.values.length;
      let slot = this.#slotOf.get(record.id);
      if (slot === undefined) {
        slot = this.#ids.length;
        this.#slotOf.set(record.id, slot);
        this.#ids.push(record.id);
      }
      this.#accounts[slot] = { ...record.account };
      this.#norms[slot] = norm(record.values);
      this.#store(slot, record.values);
    }
    if (records.length > 0) this.#postings = undefined;
  }

  async query(vector: number[], options: { topK: number; filter?: AccountFilter }): Promise<VectorMatch[]> {
    const dimension = this.#dimension;
    if (dimension !== undefined && vector.length !== dimension)
      throw new Error(`query vector has ${vector.length} dimensions, the index has ${dimension}`);
    const topK = Math.max(0, Math.trunc(options.topK));
    const count = this.#ids.length;
    if (topK === 0 || count === 0) return [];
    const postings = this.#index();
    const scores = this.#scoreBuffer(count);
    for (let d = 0; d < vector.length; d++) {
      const q = vector[d] as number;
      if (q === 0) continue;
      for (let p = postings.offsets[d] as number, end = postings.offsets[d + 1] as number; p < end; p++) {
        const slot = postings.slots[p] as number;
        scores[slot] = (scores[slot] as number) + q * (postings.values[p] as number);
      }
    }
    const queryNorm = norm(vector);
    const filter = Object.entries(options.filter ?? {}).filter(([, v]) => v !== undefined) as Array<
      [keyof AccountFilter, string]
    >;
    const best = new TopK(Math.min(topK, count), this.#ids);
    for (let slot = 0; slot < count; slot++) {
      if (filter.length > 0) {
        const account = this.#accounts[slot] as PastAccount;
        if (!filter.every(([key, value]) => account[key] === value)) continue;
      }
      const denominator = queryNorm * (this.#norms[slot] as number);
      best.offer(slot, denominator === 0 ? 0 : (scores[slot] as number) / denominator);
    }
    // Only the matches returned are copied, so callers cannot mutate the index.
    return best.sorted().map(({ slot, score }) => ({
      id: this.#ids[slot] as string,
      score,
      account: { ...(this.#accounts[slot] as PastAccount) },
    }));
  }

  /** Appends the slot's non-zero values to the pools (an overwritten slot's old ones are left behind). */
  #store(slot: number, values: number[]): void {
    let nonZero = 0;
    for (const v of values) if (v !== 0) nonZero++;
    this.#reserve(nonZero);
    const start = this.#poolUsed;
    let at = start;
    for (let d = 0; d < values.length; d++) {
      const v = values[d] as number;
      if (v === 0) continue;
      this.#poolDims[at] = d;
      this.#poolValues[at] = v;
      at++;
    }
    this.#start[slot] = start;
    this.#length[slot] = nonZero;
    this.#poolUsed = at;
  }

  #reserve(more: number): void {
    const needed = this.#poolUsed + more;
    if (needed <= this.#poolDims.length) return;
    const live = this.#length.reduce((sum, n) => sum + n, 0);
    // Mostly overwritten values: compact instead of growing.
    const capacity = Math.max(needed - this.#poolUsed + live, 1024) * 2;
    const dims = new Int32Array(capacity);
    const values = new Float64Array(capacity);
    let at = 0;
    for (let slot = 0; slot < this.#start.length; slot++) {
      const start = this.#start[slot] as number;
      const length = this.#length[slot] as number;
      dims.set(this.#poolDims.subarray(start, start + length), at);
      values.set(this.#poolValues.subarray(start, start + length), at);
      this.#start[slot] = at;
      at += length;
    }
    this.#poolDims = dims;
    this.#poolValues = values;
    this.#poolUsed = at;
  }

  /** The posting lists, built from the slots on the first query after a change. */
  #index(): Postings {
    if (this.#postings) return this.#postings;
    const dimension = this.#dimension ?? 0;
    const offsets = new Int32Array(dimension + 1);
    for (let slot = 0; slot < this.#start.length; slot++) {
      const start = this.#start[slot] as number;
      for (let i = start, end = start + (this.#length[slot] as number); i < end; i++) {
        const d = (this.#poolDims[i] as number) + 1;
        offsets[d] = (offsets[d] as number) + 1;
      }
    }
    for (let d = 0; d < dimension; d++) offsets[d + 1] = (offsets[d + 1] as number) + (offsets[d] as number);
    const total = offsets[dimension] as number;
    const slots = new Int32Array(total);
    const values = new Float64Array(total);
    const next = offsets.slice(0, dimension);
    for (let slot = 0; slot < this.#start.length; slot++) {
      const start = this.#start[slot] as number;
      for (let i = start, end = start + (this.#length[slot] as number); i < end; i++) {
        const d = this.#poolDims[i] as number;
        const at = next[d] as number;
        slots[at] = slot;
        values[at] = this.#poolValues[i] as number;
        next[d] = at + 1;
      }
    }
    this.#postings = { offsets, slots, values };
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
  slots: Int32Array;
  values: Float64Array;
}

/**
 * The k best (slot, score) pairs seen: a binary heap with the worst kept at the root, so most candidates
 * are turned away by one comparison. Better means a higher score, then the smaller id.
 */
class TopK {
  readonly #slots: Int32Array;
  readonly #scores: Float64Array;
  readonly #ids: readonly string[];
  #size = 0;

  constructor(capacity: number, ids: readonly string[]) {
    this.#slots = new Int32Array(capacity);
    this.#scores = new Float64Array(capacity);
    this.#ids = ids;
  }

  offer(slot: number, score: number): void {
    const capacity = this.#slots.length;
    if (this.#size < capacity) {
      this.#slots[this.#size] = slot;
      this.#scores[this.#size] = score;
      this.#size++;
      this.#up(this.#size - 1);
      return;
    }
    if (!this.#better(slot, score, this.#slots[0] as number, this.#scores[0] as number)) return;
    this.#slots[0] = slot;
    this.#scores[0] = score;
    this.#down(0);
  }

  sorted(): Array<{ slot: number; score: number }> {
    const out = Array.from({ length: this.#size }, (_, i) => ({
      slot: this.#slots[i] as number,
      score: this.#scores[i] as number,
    }));
    return out.sort((a, b) => (this.#better(a.slot, a.score, b.slot, b.score) ? -1 : 1));
  }

  #better(slotA: number, scoreA: number, slotB: number, scoreB: number): boolean {
    if (scoreA !== scoreB) return scoreA > scoreB;
    return (this.#ids[slotA] as string) < (this.#ids[slotB] as string);
  }

  /** Whether position i should sit above position j (it is worse). */
  #worse(i: number, j: number): boolean {
    return this.#better(
      this.#slots[j] as number,
      this.#scores[j] as number,
      this.#slots[i] as number,
      this.#scores[i] as number,
    );
  }

  #swap(i: number, j: number): void {
    const slot = this.#slots[i] as number;
    const score = this.#scores[i] as number;
    this.#slots[i] = this.#slots[j] as number;
    this.#scores[i] = this.#scores[j] as number;
    this.#slots[j] = slot;
    this.#scores[j] = score;
  }

  #up(start: number): void {
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#worse(i, parent)) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(start: number): void {
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let worst = i;
      if (left < this.#size && this.#worse(left, worst)) worst = left;
      if (right < this.#size && this.#worse(right, worst)) worst = right;
      if (worst === i) return;
      this.#swap(i, worst);
      i = worst;
    }
  }
}

function norm(v: number[]): number {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += (v[i] ?? 0) * (v[i] ?? 0);
  return Math.sqrt(sum);
}
