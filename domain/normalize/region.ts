import type { Region } from "../types.ts";

// The README's buckets. Territories follow geography, except where a sales team would expect
// the sovereign's region: Greenland and Saint Pierre and Miquelon go to EMEA with Denmark and
// France, Bermuda joins the Caribbean, the US Pacific territories join Oceania.
const REGIONS: Record<Region, string> = {
  NA: "US CA",
  LATAM: [
    "MX",
    "BZ CR SV GT HN NI PA",
    "AR BO BR CL CO EC FK GF GS GY PE PY SR UY VE",
    "AG AI AW BB BL BM BQ BS CU CW DM DO GD GP HT JM KN KY LC MF MQ MS PR SX TC TT VC VG VI",
  ].join(" "),
  APAC: [
    "AF BD BN BT CN HK ID IN IO JP KG KH KP KR KZ LA LK MM MN MO MV MY NP PH PK SG TH TJ TL TM TW UZ VN",
    "AQ AS AU CC CK CX FJ FM GU HM KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TO TV UM VU WF WS",
  ].join(" "),
  EMEA: [
    "AD AL AT AX BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM IS IT JE LI LT LU LV",
    "MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM UA VA XK BV GL PM",
    "AE AM AZ BH GE IL IQ IR JO KW LB OM PS QA SA SY TR YE",
    "AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW KE KM LR LS LY MA MG ML MR MU",
    "MW MZ NA NE NG RE RW SC SD SH SL SN SO SS ST SZ TD TF TG TN TZ UG YT ZA ZM ZW",
  ].join(" "),
};

const BY_COUNTRY = new Map<string, Region>();
for (const [region, codes] of Object.entries(REGIONS) as Array<[Region, string]>) {
  for (const code of codes.split(" ")) BY_COUNTRY.set(code, region);
}

/** Sales region of an ISO alpha-2 country code; undefined for an unknown code. */
export function regionOf(country: string | undefined): Region | undefined {
  return country === undefined ? undefined : BY_COUNTRY.get(country.toUpperCase());
}

/** The table as pairs, so a test can prove every ISO code has exactly one region. */
export function regionTable(): Array<[country: string, region: Region]> {
  return Object.entries(REGIONS).flatMap(([region, codes]) =>
    codes.split(" ").map((code): [string, Region] => [code, region as Region]),
  );
}
