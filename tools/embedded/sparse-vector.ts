import type { PastAccount } from "../../domain/types.ts";
import type { Embedder, VectorIndex } from "../ports.ts";

/**
 * A vector by its non-zero entries: `indices` ascending, `values` at those indices, none of them zero. The
 * hashing embedder computes its vectors this way and the in-process index stores them this way, so a corpus
 * loaded from one into the other never takes the dense form (512 numbers a vector for a dozen non-zero ones).
 */
export interface SparseVector {
  readonly dimension: number;
  readonly indices: readonly number[];
  readonly values: readonly number[];
}

/** An embedder that also hands out its vectors sparsely (the hashing embedder). */
export interface SparseEmbedder extends Embedder {
  /**
   * For embedding a corpus: a function from text to sparse vector with its own memory of the texts it has seen,
   * dropped with it, so that a bulk load neither fills nor churns the cache that queries use. Identical texts
   * get the same vector object.
   */
  bulkSparse(): (text: string) => SparseVector;
}

/** An index that also takes sparse vectors (the in-process index). */
export interface SparseVectorIndex extends VectorIndex {
  /**
   * Inserts or overwrites records as `upsert` does, with the same scores afterwards; the accounts are kept as
   * given, not copied: the caller hands them over (a corpus loaded from a file).
   */
  upsertSparse(records: ReadonlyArray<SparseRecord>): Promise<void>;
}

export interface SparseRecord {
  id: string;
  vector: SparseVector;
  account: PastAccount;
}

export function isSparseEmbedder(embedder: Embedder): embedder is SparseEmbedder {
  return typeof (embedder as Partial<SparseEmbedder>).bulkSparse === "function";
}

export function isSparseVectorIndex(index: VectorIndex): index is SparseVectorIndex {
  return typeof (index as Partial<SparseVectorIndex>).upsertSparse === "function";
}
