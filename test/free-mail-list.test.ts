import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { registrableDomain } from "../domain/normalize/domain.ts";
import { isDisposableDomain } from "../domain/normalize/free-mail.ts";

const require = createRequire(import.meta.url);
const listed = JSON.parse(
  readFileSync(require.resolve("disposable-email-domains/index.json"), "utf8"),
) as string[];
const wildcards = new Set(
  JSON.parse(readFileSync(require.resolve("disposable-email-domains/wildcard.json"), "utf8")) as string[],
);
const asSet = new Set(listed);

/** The rule as it was with a Set of the whole list. */
function reference(domain: string): boolean {
  const host = domain.trim().toLowerCase().replace(/\.+$/, "");
  const registrable = registrableDomain(host);
  if (asSet.has(host)) return true;
  const parent = registrable && registrable !== host ? registrable : host;
  return asSet.has(parent) || wildcards.has(parent);
}

describe("the disposable-domain list searched in place", () => {
  it("finds every listed domain, and agrees with a Set of the list on near misses", () => {
    let disposable = 0;
    for (const [i, domain] of listed.entries()) {
      expect(isDisposableDomain(domain)).toBe(true);
      disposable++;
      if (i % 7 === 0) {
        for (const probe of [`${domain}x`, domain.slice(1), `mail.${domain}`, domain.toUpperCase()])
          expect(isDisposableDomain(probe), probe).toBe(reference(probe));
      }
    }
    expect(disposable).toBe(listed.length);
    for (const probe of ["gmail.com", "acme.io", "", "a", "zzzzzz.zz", "0", "~"])
      expect(isDisposableDomain(probe), probe).toBe(reference(probe));
  });
});
