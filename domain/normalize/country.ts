import { createRequire } from "node:module";
import countries, { type LocaleData } from "i18n-iso-countries/index.js";
import { foldKey } from "./fold.ts";

// Names people type that the ISO tables lack or that are not countries in ISO terms.
const ALIASES: Record<string, string> = {
  uk: "GB",
  "u k": "GB",
  britain: "GB",
  "great britain": "GB",
  england: "GB",
  scotland: "GB",
  wales: "GB",
  "northern ireland": "GB",
  "united kingdom of great britain and northern ireland": "GB",
  america: "US",
  "united states of america": "US",
  "the united states": "US",
  "estados unidos": "US",
  uae: "AE",
  emirates: "AE",
  holland: "NL",
  korea: "KR",
  "south korea": "KR",
  "korea south": "KR",
  russia: "RU",
  czechia: "CZ",
  "czech republic": "CZ",
  macedonia: "MK",
  swaziland: "SZ",
  burma: "MM",
  "ivory coast": "CI",
  vatican: "VA",
  "hong kong sar": "HK",
  "mainland china": "CN",
  prc: "CN",
  // EU statistics code for Greece, common in European forms.
  el: "GR",
};

// Latin-script languages of the markets we sell in, plus major non-Latin ones. Every supported
// locale would add thousands of short names ("man", "sam") that turn typos into countries.
const LANGUAGES = [
  "en",
  "de",
  "fr",
  "es",
  "it",
  "pt",
  "nl",
  "sv",
  "da",
  "nb",
  "fi",
  "pl",
  "cs",
  "ru",
  "zh",
  "ja",
  "ko",
];

// The package's main entry registers all of its 78 locales; the names table reads only these, so only these
// are loaded (issue 12: idle memory). Codes and their validity come from its code table, whatever the locales.
const require = createRequire(import.meta.url);
for (const lang of LANGUAGES)
  countries.registerLocale(require(`i18n-iso-countries/langs/${lang}.json`) as LocaleData);

function buildNameTable(): Map<string, string> {
  const table = new Map<string, string>();
  const ambiguous = new Set<string>();
  for (const lang of LANGUAGES) {
    const names = countries.getNames(lang, { select: "all" });
    for (const [code, list] of Object.entries(names)) {
      for (const name of list) {
        const key = foldKey(name);
        const known = table.get(key);
        if (known === undefined) table.set(key, code);
        else if (known !== code) ambiguous.add(key);
      }
    }
  }
  // "Congo" names two countries: refusing to guess beats routing to the wrong one.
  for (const key of ambiguous) table.delete(key);
  for (const [alias, code] of Object.entries(ALIASES)) table.set(foldKey(alias), code);
  return table;
}

const NAMES = buildNameTable();

/**
 * ISO-3166 alpha-2 code from an alpha-2 or alpha-3 code, an English or foreign name, or an alias
 * ("UK", "Deutschland", "ESP", "Côte d'Ivoire"); undefined when it cannot be told.
 */
export function normalizeCountry(input: string | undefined): string | undefined {
  if (input === undefined) return undefined;
  const key = foldKey(input);
  if (key === "") return undefined;
  const alias = Object.hasOwn(ALIASES, key) ? ALIASES[key] : undefined;
  if (alias) return alias;
  if (/^[a-z]{2}$/.test(key)) {
    const code = key.toUpperCase();
    return countries.isValid(code) ? code : undefined;
  }
  if (/^[a-z]{3}$/.test(key)) {
    const code = countries.alpha3ToAlpha2(key.toUpperCase());
    if (code) return code;
  }
  return NAMES.get(key);
}

/** Every alpha-2 code the ISO tables know (used to prove the region table is complete). */
export function allCountryCodes(): string[] {
  return Object.keys(countries.getAlpha2Codes());
}
