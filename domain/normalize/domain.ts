import { getDomain } from "tldts";

/**
 * Registrable domain of a website, URL or host, via the public suffix list:
 * `https://www.Shop.Acme.co.uk:8443/path?x` → `acme.co.uk`.
 *
 * Private suffixes count (`allowPrivateDomains`), so `sub.example.github.io` → `example.github.io`:
 * on a shared host each tenant is a different company, and `github.io` must not become one
 * giant "company" that every Pages site is routed to. IPs, bare hosts and unknown TLDs → undefined.
 */
export function registrableDomain(input: string | undefined): string | undefined {
  if (input === undefined) return undefined;
  const cleaned = input.trim().replace(/\.+$/, "");
  if (cleaned === "" || /\s/.test(cleaned)) return undefined;
  const domain = getDomain(cleaned, { allowPrivateDomains: true, validateHostname: true });
  return domain ?? undefined;
}
