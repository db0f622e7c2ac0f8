import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { registrableDomain } from "./domain.ts";

const require = createRequire(import.meta.url);
// Both packages ship plain JSON arrays of lower-case domains.
const providers = require("email-providers/all.json") as string[];
const disposableWildcards = require("disposable-email-domains/wildcard.json") as string[];

/**
 * A sorted JSON array of plain strings (no escapes), searched in place: the file's text and where each
 * entry starts and ends, instead of one string per entry in a Set. The disposable-domains list has some
 * 120,000 entries: about 3 MB this way against some 12 MB of strings and Set (issue 12: idle memory).
 */
class SortedJsonList {
  readonly #text: string;
  readonly #starts: Uint32Array;
  readonly #ends: Uint32Array;

  constructor(text: string) {
    const starts: number[] = [];
    const ends: number[] = [];
    for (let at = text.indexOf('"'); at !== -1; at = text.indexOf('"', ends[ends.length - 1]! + 1)) {
      const end = text.indexOf('"', at + 1);
      if (end === -1) break;
      starts.push(at + 1);
      ends.push(end);
    }
    this.#text = text;
    this.#starts = Uint32Array.from(starts);
    this.#ends = Uint32Array.from(ends);
    for (let i = 1; i < starts.length; i++)
      if (this.#compare(i - 1, this.#entry(i)) >= 0) throw new Error("the list is not sorted and unique");
  }

  has(value: string): boolean {
    let low = 0;
    let high = this.#starts.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const order = this.#compare(mid, value);
      if (order === 0) return true;
      if (order < 0) low = mid + 1;
      else high = mid - 1;
    }
    return false;
  }

  #entry(i: number): string {
    return this.#text.slice(this.#starts[i], this.#ends[i]);
  }

  /** Entry `i` against `value`, in code-unit order (as `<` compares strings). */
  #compare(i: number, value: string): number {
    const start = this.#starts[i] as number;
    const length = (this.#ends[i] as number) - start;
    const n = Math.min(length, value.length);
    for (let k = 0; k < n; k++) {
      const diff = this.#text.charCodeAt(start + k) - value.charCodeAt(k);
      if (diff !== 0) return diff;
    }
    return length - value.length;
  }
}

const disposables = new SortedJsonList(
  readFileSync(require.resolve("disposable-email-domains/index.json"), "utf8"),
);

// email-providers lists a few domains that are real employers or institutions; a lead from
// one of them is a company lead, not a free-mail one.
const NOT_FREE_MAIL = [
  "alibaba.com",
  "ancestry.com",
  "berlin.de",
  "bt.com",
  "discovery.com",
  "facebook.com",
  "medscape.com",
  "nus.edu.sg",
  "oath.com",
  "saudia.com",
  "space.com",
];
// Common consumer providers missing from that list.
const EXTRA_FREE_MAIL = ["fastmail.com", "gmx.ch", "googlemail.com", "tuta.io", "tutanota.com", "zoho.eu"];

const FREE_MAIL = new Set([...providers, ...EXTRA_FREE_MAIL]);
for (const domain of NOT_FREE_MAIL) FREE_MAIL.delete(domain);
const DISPOSABLE = disposables;
const DISPOSABLE_PARENTS = new Set(disposableWildcards);

function candidates(domain: string): string[] {
  const host = domain.trim().toLowerCase().replace(/\.+$/, "");
  const registrable = registrableDomain(host);
  return registrable && registrable !== host ? [host, registrable] : [host];
}

/** True for consumer mailbox providers (gmail.com, yahoo.co.uk, gmx.de, ...), subdomains included. */
export function isFreeMailDomain(domain: string): boolean {
  return candidates(domain).some((d) => FREE_MAIL.has(d));
}

/** True for throwaway-address services (mailinator.com, ...), including their wildcard subdomains. */
export function isDisposableDomain(domain: string): boolean {
  const [host, registrable] = candidates(domain);
  if (host !== undefined && DISPOSABLE.has(host)) return true;
  const parent = registrable ?? host;
  return parent !== undefined && (DISPOSABLE.has(parent) || DISPOSABLE_PARENTS.has(parent));
}
