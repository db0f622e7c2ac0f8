import { foldKey } from "./fold.ts";

const US_STATES: Record<string, string> = {
  AL: "Alabama",
  AK: "Alaska",
  AZ: "Arizona",
  AR: "Arkansas",
  CA: "California",
  CO: "Colorado",
  CT: "Connecticut",
  DE: "Delaware",
  DC: "District of Columbia",
  FL: "Florida",
  GA: "Georgia",
  HI: "Hawaii",
  ID: "Idaho",
  IL: "Illinois",
  IN: "Indiana",
  IA: "Iowa",
  KS: "Kansas",
  KY: "Kentucky",
  LA: "Louisiana",
  ME: "Maine",
  MD: "Maryland",
  MA: "Massachusetts",
  MI: "Michigan",
  MN: "Minnesota",
  MS: "Mississippi",
  MO: "Missouri",
  MT: "Montana",
  NE: "Nebraska",
  NV: "Nevada",
  NH: "New Hampshire",
  NJ: "New Jersey",
  NM: "New Mexico",
  NY: "New York",
  NC: "North Carolina",
  ND: "North Dakota",
  OH: "Ohio",
  OK: "Oklahoma",
  OR: "Oregon",
  PA: "Pennsylvania",
  RI: "Rhode Island",
  SC: "South Carolina",
  SD: "South Dakota",
  TN: "Tennessee",
  TX: "Texas",
  UT: "Utah",
  VT: "Vermont",
  VA: "Virginia",
  WA: "Washington",
  WV: "West Virginia",
  WI: "Wisconsin",
  WY: "Wyoming",
  AS: "American Samoa",
  GU: "Guam",
  MP: "Northern Mariana Islands",
  PR: "Puerto Rico",
  VI: "U.S. Virgin Islands",
};

const CA_PROVINCES: Record<string, string> = {
  AB: "Alberta",
  BC: "British Columbia",
  MB: "Manitoba",
  NB: "New Brunswick",
  NL: "Newfoundland and Labrador",
  NS: "Nova Scotia",
  NT: "Northwest Territories",
  NU: "Nunavut",
  ON: "Ontario",
  PE: "Prince Edward Island",
  QC: "Quebec",
  SK: "Saskatchewan",
  YT: "Yukon",
};

// Spellings forms produce that are not the official names.
const EXTRA_NAMES: Record<string, string> = {
  "washington dc": "DC",
  "washington d c": "DC",
  "us virgin islands": "VI",
  newfoundland: "NL",
  "yukon territory": "YT",
  pei: "PE",
};

function index(...tables: Array<Record<string, string>>): Map<string, string> {
  const byKey = new Map<string, string>();
  for (const table of tables) {
    for (const [code, name] of Object.entries(table)) {
      byKey.set(code.toLowerCase(), code);
      byKey.set(foldKey(name), code);
    }
  }
  return byKey;
}

const US = index(US_STATES);
const CA = index(CA_PROVINCES);
for (const [name, code] of Object.entries(EXTRA_NAMES)) (code in US_STATES ? US : CA).set(name, code);

/**
 * US state or Canadian province code from a code or a name, any case, accents ignored
 * ("california" → "CA", "Québec" → "QC"). With the country unknown both tables are tried;
 * their codes never collide. Undefined when it is not a US/CA subdivision.
 */
export function stateCode(input: string, country: string | undefined): string | undefined {
  const key = foldKey(input);
  if (country === "US") return US.get(key);
  if (country === "CA") return CA.get(key);
  if (country === undefined) return US.get(key) ?? CA.get(key);
  return undefined;
}

/** True for a US state (or DC) or Canadian province/territory code, e.g. "CA", "QC". */
export function isStateCode(code: string): boolean {
  return code in US_STATES || code in CA_PROVINCES;
}
