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

/** The sample's email as written (top level, or in `properties`, possibly as a `{ value }` cell). */
function emailOf(sample: Record<string, unknown>): string | undefined {
  const properties = sample.properties;
  const raw =
    properties && typeof properties === "object"
      ? (properties as Record<string, unknown>).email
      : sample.email;
  const email = raw && typeof raw === "object" ? (raw as { value?: unknown }).value : raw;
  return typeof email === "string" ? email : undefined;
}

/**
 * The sample as a distinct lead that routes as the sample does: a tag in the email's local part, the domain
 * kept (the company domain, firmographics, score and route follow from it; a made-up domain would send
 * most leads to nurture).
 */
export function distinctLead(sample: Record<string, unknown>, tag: string): Record<string, unknown> {
  const email = emailOf(sample) ?? "lead@example.com";
  const at = email.lastIndexOf("@");
  return withEmail(sample, `${tag}.${email.slice(0, at)}${email.slice(at)}`);
}

/**
 * A run event that settles a lead: completed, or delivered and waiting for its owner's decision
 * (`lead.awaiting`, the owner loop). Benches count a lead as done at either.
 */
export function settlesLead(eventType: string): boolean {
  return eventType === "lead.completed" || eventType === "lead.awaiting";
}
