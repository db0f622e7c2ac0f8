/**
 * Sticky ownership: the same person's next lead goes to the owner they already have. `personKey` is how a
 * person is recognised across leads without keeping their email as a key.
 */
import { createHash } from "node:crypto";

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
