/**
 * Sticky ownership: the same person's next lead goes to the owner they already have. `personKey` is how a
 * person is recognised across leads without keeping their email as a key.
 */
import { createHash } from "node:crypto";
import type { PersonRoute } from "../types.ts";

/**
 * The email as the same person writes it on another form: trimmed, lower-case, without a `+tag` in the local
 * part (jane+webinar@acme.com is jane@acme.com).
 */
export function normalizePersonEmail(email: string): string {
  const lower = email.trim().toLowerCase();
  const at = lower.lastIndexOf("@");
  if (at <= 0) return lower;
  const local = lower.slice(0, at).replace(/\+.*$/, "");
  return `${local || lower.slice(0, at)}${lower.slice(at)}`;
}

/** A SHA-256 of the normalised email: the key the returning-lead memory uses, never the email itself. */
export function personKey(email: string): string {
  return createHash("sha256")
    .update(`leadgraph/person/${normalizePersonEmail(email)}`)
    .digest("hex");
}

const DAY_MS = 86_400_000;

/** The person's earlier route if it falls within the returning window, else undefined (a new lead). */
export function withinWindow(
  previous: PersonRoute | undefined,
  windowDays: number,
  now: Date,
): PersonRoute | undefined {
  if (!previous) return undefined;
  const age = now.getTime() - Date.parse(previous.routedAt);
  return age >= 0 && age <= windowDays * DAY_MS ? previous : undefined;
}
