export type EmailResult =
  | { ok: true; email: string; domain: string }
  | { ok: false; reason: "missing" | "malformed" };

// RFC 5322 "dot-atom" local part and an LDH domain with at least one dot and an alphabetic
// (or punycode) TLD: strict enough to refuse typos, loose enough for plus-addressing.
const LOCAL = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const TLD = /^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;

/** Trims, lower-cases and syntactically validates an email address. */
export function normalizeEmail(input: string | undefined): EmailResult {
  if (input === undefined) return { ok: false, reason: "missing" };
  const email = input
    .trim()
    .replace(/^mailto:/i, "")
    .toLowerCase();
  if (email === "") return { ok: false, reason: "missing" };
  if (email.length > 254) return { ok: false, reason: "malformed" };
  const at = email.lastIndexOf("@");
  if (at <= 0) return { ok: false, reason: "malformed" };
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (local.length > 64 || !LOCAL.test(local)) return { ok: false, reason: "malformed" };
  const labels = domain.split(".");
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return { ok: false, reason: "malformed" };
  if (!TLD.test(labels[labels.length - 1] ?? "")) return { ok: false, reason: "malformed" };
  return { ok: true, email, domain };
}
