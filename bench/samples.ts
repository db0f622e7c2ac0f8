import { readFileSync } from "node:fs";

/** The fixture payloads, for benches that need many distinct leads. */
export const SAMPLES = (
  JSON.parse(readFileSync("fixtures/leads_sample.json", "utf8")) as Array<{
    payload: Record<string, unknown>;
  }>
).map((c) => c.payload);

/** The sample with a fresh email (in `properties` for HubSpot shapes), so it is a distinct lead. */
export function withEmail(sample: Record<string, unknown>, email: string): Record<string, unknown> {
  const copy = structuredClone(sample);
  const properties = copy.properties;
  if (properties && typeof properties === "object") {
    const props = properties as Record<string, unknown>;
    const current = props.email;
    props.email = current && typeof current === "object" ? { ...current, value: email } : email;
  } else {
    copy.email = email;
  }
  return copy;
}
