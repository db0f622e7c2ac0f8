import { createRequire } from "node:module";
import { registrableDomain } from "./domain.ts";

const require = createRequire(import.meta.url);
// Both packages ship plain JSON arrays of lower-case domains.
const providers = require("email-providers/all.json") as string[];
const disposables = require("disposable-email-domains/index.json") as string[];
const disposableWildcards = require("disposable-email-domains/wildcard.json") as string[];

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
const DISPOSABLE = new Set(disposables);
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
