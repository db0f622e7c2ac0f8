/**
 * HubSpot developer-app webhook events (the Webhooks API): POST bodies are arrays of up to 100 events such as
 * `{ eventId, subscriptionId, portalId, appId, occurredAt, subscriptionType, attemptNumber, objectId,
 * propertyName?, propertyValue?, changeSource }`. An event names a contact, it does not carry it: capture
 * reads the contact through the Crm port. Pure: which events make a lead, under which rules.
 */
import { isRecord, toText } from "./text.ts";

/** An event that makes a lead, with the fields LeadGraph reads. */
export interface HubspotEvent {
  eventId: string;
  portalId?: string;
  /** The contact id. */
  objectId: string;
  subscriptionType: string;
  propertyName?: string;
  propertyValue?: string;
}

/** Which property changes make a lead: property name → the values that count (empty: any value). */
export interface EventRules {
  properties: ReadonlyMap<string, ReadonlySet<string>>;
}

export type EventDecision =
  | { kind: "lead"; event: HubspotEvent }
  | { kind: "ignored"; reason: "subscription_type" | "property" | "property_value"; message: string }
  | { kind: "invalid"; field: string; message: string };

/** The contact properties capture reads for an event's lead (HubSpot internal names). */
export const HUBSPOT_CONTACT_PROPERTIES = [
  "email",
  "firstname",
  "lastname",
  "company",
  "jobtitle",
  "country",
  "state",
  "zip",
  "website",
  "phone",
  "mobilephone",
  "message",
  "recent_conversion_event_name",
  "hs_analytics_source",
  "lifecyclestage",
] as const;

/** HubSpot's object type id for contacts, in the generic `object.*` subscription types. */
const CONTACT_OBJECT_TYPE = "0-1";

const RULE = /^[a-z0-9_]+(=[^,=|]+(\|[^,=|]+)*)?$/i;

/**
 * `lifecyclestage=marketingqualifiedlead|salesqualifiedlead,hs_lead_status`: a comma-separated list of
 * properties, each optionally with the `|`-separated values that count. Returns the problem for a bad spec.
 */
export function parseEventRules(spec: string): EventRules | { error: string } {
  const properties = new Map<string, Set<string>>();
  for (const part of spec
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    if (!RULE.test(part)) return { error: `"${part}" is not property or property=value|value` };
    const [name = "", values = ""] = part.split("=");
    const set = properties.get(name.toLowerCase()) ?? new Set<string>();
    for (const v of values.split("|").filter(Boolean)) set.add(v.trim().toLowerCase());
    properties.set(name.toLowerCase(), set);
  }
  return { properties };
}

/** A record with a `subscriptionType`: what tells a webhook event from a lead payload. */
export function looksLikeHubspotEvent(value: unknown): boolean {
  return isRecord(value) && typeof value.subscriptionType === "string";
}

/** A JSON array whose items are all HubSpot webhook events. */
export function isHubspotEventBatch(body: unknown): body is unknown[] {
  return Array.isArray(body) && body.length > 0 && body.every(looksLikeHubspotEvent);
}

/** The event's fields, or the first one that is missing. */
export function readHubspotEvent(
  raw: unknown,
): { ok: true; event: HubspotEvent } | { ok: false; field: string; message: string } {
  if (!isRecord(raw)) return { ok: false, field: "body", message: "event must be a JSON object" };
  const subscriptionType = toText(raw.subscriptionType);
  if (subscriptionType === undefined)
    return { ok: false, field: "subscriptionType", message: "subscriptionType is required" };
  const eventId = toText(raw.eventId);
  if (eventId === undefined) return { ok: false, field: "eventId", message: "eventId is required" };
  const objectId = toText(raw.objectId);
  if (objectId === undefined) return { ok: false, field: "objectId", message: "objectId is required" };
  const event: HubspotEvent = { eventId, objectId, subscriptionType };
  const portalId = toText(raw.portalId);
  if (portalId !== undefined) event.portalId = portalId;
  const propertyName = toText(raw.propertyName);
  if (propertyName !== undefined) event.propertyName = propertyName;
  const propertyValue = toText(raw.propertyValue);
  if (propertyValue !== undefined) event.propertyValue = propertyValue;
  return { ok: true, event };
}

/**
 * Contact creations make a lead; a contact property change makes one only for a property (and value) named
 * in the rules; any other event is acknowledged and ignored.
 */
export function classifyEvent(raw: unknown, rules: EventRules): EventDecision {
  const read = readHubspotEvent(raw);
  if (!read.ok) return { kind: "invalid", field: read.field, message: read.message };
  const { event } = read;
  const type = event.subscriptionType;
  const objectTypeId = isRecord(raw) ? toText(raw.objectTypeId) : undefined;
  const contact =
    type.startsWith("contact.") || (type.startsWith("object.") && objectTypeId === CONTACT_OBJECT_TYPE);
  const action = type.slice(type.indexOf(".") + 1);
  if (contact && action === "creation") return { kind: "lead", event };
  if (!contact || action !== "propertyChange")
    return { kind: "ignored", reason: "subscription_type", message: `${type} events do not make leads` };
  const name = (event.propertyName ?? "").toLowerCase();
  const values = rules.properties.get(name);
  if (!values)
    return {
      kind: "ignored",
      reason: "property",
      message: `changes of ${name || "(no property)"} do not make leads`,
    };
  if (values.size > 0 && !values.has((event.propertyValue ?? "").toLowerCase()))
    return {
      kind: "ignored",
      reason: "property_value",
      message: `${name} becoming ${event.propertyValue ?? "(empty)"} does not make a lead`,
    };
  return { kind: "lead", event };
}

/** The idempotency key part of an event: HubSpot's event id within its portal. */
export function eventKey(event: Pick<HubspotEvent, "eventId" | "portalId">): string {
  return `${event.portalId ?? "-"}:${event.eventId}`;
}

/** The contact as a HubSpot contact payload, which capture normalises like a workflow payload. */
export function contactPayload(contact: { id: string; properties: Record<string, string> }): {
  objectId: string;
  properties: Record<string, string>;
} {
  return { objectId: contact.id, properties: contact.properties };
}
