import type { Ledger } from "../tools/ports.ts";

/** A vendor write that carries its ledger key, and the way to find it again by that key. */
export interface KeyedWrite<T> {
  /** The earlier write made under this key, or null. */
  find(): Promise<T | null>;
  /** Makes the write; the written record carries the key. */
  create(): Promise<T>;
}

/**
 * Writes once per key. The ledger alone leaves a window: a worker that dies after the vendor acted and
 * before the ledger stored the result (or an attempt that failed after its request landed) would make the
 * write again. So when the ledger says an earlier attempt may have taken effect, the write is looked up by
 * its key first and adopted if found.
 */
export function writeOnce<T>(ledger: Ledger, key: string, write: KeyedWrite<T>): Promise<T> {
  return ledger.once(key, async ({ mayExist }) => (mayExist ? await write.find() : null) ?? write.create());
}

/** The ledger key of the owner's message of wait round `round` (round 0 keeps the key every earlier lead has). */
export function notifyKey(leadId: string, round: number): string {
  return round === 0 ? `${leadId}:notify` : `${leadId}:notify:${round}`;
}

/** The ledger key of the review queue's message about the lead. */
export function reviewKey(leadId: string): string {
  return `${leadId}:review`;
}
