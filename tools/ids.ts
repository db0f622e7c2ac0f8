import * as crypto from "node:crypto";

/**
 * Ids for the records LeadGraph creates (leads, the stand-ins' CRM records and messages): UUIDs version 7
 * (RFC 9562), whose first 48 bits are the Unix time in milliseconds and the rest random, so an id made later
 * sorts after one made in an earlier millisecond. Rows keyed by them go in at the right-hand edge of SQLite's
 * B-trees (the embedded profile keys leads, checkpoints, jobs, the ledger and the timeline by lead id):
 * a commit writes a few adjacent pages that stay in the page cache, instead of one page per row at a random
 * place in an ever larger index. The id is still a UUID; it has 74 random bits (a version 4 UUID has 122),
 * still far past guessing, and tells the millisecond it was made, which the lead's record says anyway.
 */
export function timeOrderedId(): string {
  return nativeV7 !== undefined ? nativeV7() : uuidV7(Date.now(), crypto.randomUUID());
}

// `crypto.randomUUIDv7` from Node 24 on; the engines field allows Node 22.
const nativeV7 = (crypto as { randomUUIDv7?: () => string }).randomUUIDv7;

/**
 * A version 7 UUID from a time and a random (version 4) UUID: the time's 48 bits written over the first 12
 * hex digits and the version digit set to 7; the variant bits are already RFC 9562's.
 */
export function uuidV7(unixMs: number, randomV4: string): string {
  if (!Number.isSafeInteger(unixMs) || unixMs < 0 || unixMs >= 2 ** 48)
    throw new RangeError(`unixMs must be an integer in [0, 2^48), got ${unixMs}`);
  const time = unixMs.toString(16).padStart(12, "0");
  return `${time.slice(0, 8)}-${time.slice(8)}-7${randomV4.slice(15)}`;
}
