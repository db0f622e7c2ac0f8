import type { PastAccount } from "../../domain/types.ts";
import type { AccountFilter, VectorIndex, VectorMatch } from "../../tools/ports.ts";

interface Entry {
  id: string;
  values: number[];
  norm: number;
  account: PastAccount;
}

/**
 * The embedded similar-accounts index as it was before the inverted index (issue 12): a dense copy of every
 * vector, scored one by one and sorted whole on every query. Kept as the reference the inverted index must
 * agree with to the last bit (test/vector-memory.test.ts) and as the "before" of bench/similar.ts.
 */
export class BruteForceVectorIndex implements VectorIndex {
  readonly name = "brute-force";
  readonly #entries = new Map<string, Entry>();

  get size(): number {
    return this.#entries.size;
  }

  async upsert(records: Array<{ id: string; values: number[]; account: PastAccount }>): Promise<void> {
    for (const record of records) {
      const dimension = this.#dimension();
      if (dimension !== undefined && record.values.length !== dimension)
        throw new Error(
          `vector ${record.id} has ${record.values.length} dimensions, the index has ${dimension}`,
        );
      this.#entries.set(record.id, {
        id: record.id,
        values: [...record.values],
        norm: norm(record.values),
        account: { ...record.account },
      });
    }
  }

  async query(vector: number[], options: { topK: number; filter?: AccountFilter }): Promise<VectorMatch[]> {
    const dimension = this.#dimension();
    if (dimension !== undefined && vector.length !== dimension)
      throw new Error(`query vector has ${vector.length} dimensions, the index has ${dimension}`);
    const queryNorm = norm(vector);
    const filter = Object.entries(options.filter ?? {}).filter(([, v]) => v !== undefined);
    // Only the query's non-zero dimensions contribute: exact for any vector, and hashed profile vectors
    // have a dozen of them out of hundreds.
    const active: number[] = [];
    for (let i = 0; i < vector.length; i++) if (vector[i] !== 0) active.push(i);
    const scored: Array<{ entry: Entry; score: number }> = [];
    for (const entry of this.#entries.values()) {
      if (!filter.every(([key, value]) => entry.account[key as keyof AccountFilter] === value)) continue;
      const denominator = queryNorm * entry.norm;
      scored.push({
        entry,
        score: denominator === 0 ? 0 : dotAt(active, vector, entry.values) / denominator,
      });
    }
    // Ties broken by id so results never depend on insertion order.
    scored.sort(
      (a, b) => b.score - a.score || (a.entry.id < b.entry.id ? -1 : a.entry.id > b.entry.id ? 1 : 0),
    );
    // Only the matches returned are copied, so callers cannot mutate the index.
    return scored
      .slice(0, Math.max(0, options.topK))
      .map(({ entry, score }) => ({ id: entry.id, score, account: { ...entry.account } }));
  }

  #dimension(): number | undefined {
    for (const entry of this.#entries.values()) return entry.values.length;
    return undefined;
  }
}

function dot(a: number[], b: number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] ?? 0) * (b[i] ?? 0);
  return sum;
}

function dotAt(indices: number[], a: number[], b: number[]): number {
  let sum = 0;
  for (const i of indices) sum += (a[i] as number) * (b[i] as number);
  return sum;
}

function norm(v: number[]): number {
  return Math.sqrt(dot(v, v));
}
