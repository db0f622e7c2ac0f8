import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";

export interface PruneOptions {
  /** Newest checkpoints kept per namespace; 0 deletes the thread. Default 1. */
  keepLast?: number;
}

/**
 * Retention for finished threads: the lead runner calls `prune` when a lead completes, so a thread keeps
 * only what a later retry or an admin inspecting the final state can still need.
 */
export interface PrunableSaver {
  /**
   * Deletes all but the newest `keepLast` checkpoints of every namespace of the thread, with their pending
   * writes and any channel values no kept checkpoint refers to. Meant for finished threads: a run writing to
   * the thread at the same time may lose the checkpoint it is writing.
   *
   * @returns how many checkpoints were deleted.
   */
  prune(threadId: string, options?: PruneOptions): Promise<number>;
}

export function isPrunableSaver(saver: BaseCheckpointSaver): saver is BaseCheckpointSaver & PrunableSaver {
  return typeof (saver as Partial<PrunableSaver>).prune === "function";
}

/** The validated `keepLast`, so both savers reject the same inputs. */
export function keepLastOf(options: PruneOptions | undefined): number {
  const keepLast = options?.keepLast ?? 1;
  if (!Number.isSafeInteger(keepLast) || keepLast < 0) {
    throw new RangeError(`keepLast must be a non-negative integer, got ${String(keepLast)}`);
  }
  return keepLast;
}

/**
 * A saver that can skip its read when the caller knows a thread has no checkpoint yet: the runner, for a
 * lead that was never marked running (its first run).
 */
export interface NewThreadHint {
  /**
   * The next read of the thread's newest root checkpoint answers "none" without asking the backend.
   * Returns what ends the hint unused: the caller calls it once its run is over.
   */
  expectNewThread(threadId: string): () => void;
}

export function hasNewThreadHint(saver: BaseCheckpointSaver): saver is BaseCheckpointSaver & NewThreadHint {
  return typeof (saver as Partial<NewThreadHint>).expectNewThread === "function";
}
