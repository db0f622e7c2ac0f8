import type { LeadSource } from "../types.ts";
import { isRecord, toText } from "./text.ts";

/** The lead's fields as the sender wrote them (trimmed text), before any normalisation. */
export interface PayloadFields {
  email?: string;
  firstName?: string;
  lastName?: string;
  fullName?: string;
  company?: string;
  title?: string;
  country?: string;
  state?: string;
  postalCode?: string;
  website?: string;
  phone?: string;
  source?: string;
  campaign?: string;
  form?: string;
  message?: string;
  /** utm_* values keyed without the prefix. */
  utm: Record<string, string>;
  hubspotContactId?: string;
}

type TextField = Exclude<keyof PayloadFields, "utm">;

// Keys are compared folded (lower case, no `_`, `-` or spaces), so `first_name`, `firstName`
// and HubSpot's `firstname` are one key. Earlier names win when a payload has several.
const FIELD_KEYS: Record<Exclude<TextField, "hubspotContactId">, string[]> = {
  email: ["email", "emailaddress", "workemail", "businessemail"],
  firstName: ["firstname", "givenname", "fname"],
  lastName: ["lastname", "surname", "familyname", "lname"],
  fullName: ["fullname", "name"],
  company: ["company", "companyname", "organization", "organisation"],
  title: ["jobtitle", "title", "position", "jobrole"],
  country: ["country", "countrycode", "countryregion"],
  state: ["state", "stateprovince", "province", "region", "statecode"],
  postalCode: ["postalcode", "zip", "zipcode", "postcode"],
  website: ["website", "url", "companywebsite", "domain", "companydomain"],
  phone: ["phone", "phonenumber", "mobilephone", "mobile", "telephone", "tel"],
  source: ["source", "leadsource"],
  campaign: ["campaign"],
  form: ["form", "formname", "recentconversioneventname", "pagename"],
  message: ["message", "comments", "comment"],
};
const UTM_PARTS = ["source", "medium", "campaign", "term", "content"];
const HUBSPOT_ID_KEYS = ["vid", "canonicalvid", "objectid", "hsobjectid", "id"];

function foldFieldKey(key: string): string {
  return key.toLowerCase().replace(/[_\-\s]/g, "");
}

/** Folded key → first usable text value; `unwrap` reads HubSpot's legacy `{ value }` cells. */
function fold(record: Record<string, unknown>, unwrap: boolean): Map<string, string> {
  const folded = new Map<string, string>();
  for (const [key, cell] of Object.entries(record)) {
    const value = toText(unwrap && isRecord(cell) ? cell.value : cell);
    const k = foldFieldKey(key);
    if (value !== undefined && !folded.has(k)) folded.set(k, value);
  }
  return folded;
}

function pick(folded: Map<string, string>, keys: string[]): string | undefined {
  for (const key of keys) {
    const value = folded.get(key);
    if (value !== undefined) return value;
  }
  return undefined;
}

function readFields(folded: Map<string, string>, nestedUtm: unknown): PayloadFields {
  const fields: PayloadFields = { utm: {} };
  for (const [field, keys] of Object.entries(FIELD_KEYS) as Array<[TextField, string[]]>) {
    const value = pick(folded, keys);
    if (value !== undefined) fields[field] = value;
  }
  const nested = isRecord(nestedUtm) ? fold(nestedUtm, false) : new Map<string, string>();
  for (const part of UTM_PARTS) {
    const value = folded.get(`utm${part}`) ?? nested.get(part) ?? nested.get(`utm${part}`);
    if (value !== undefined) fields.utm[part] = value;
  }
  return fields;
}

/** HubSpot payloads carry `properties` or a contact id; anything else is generic JSON. */
export function detectSource(payload: Record<string, unknown>): LeadSource {
  const hubspotMarker = ["vid", "hs_object_id", "objectId"].some((k) => payload[k] !== undefined);
  return isRecord(payload.properties) || hubspotMarker ? "hubspot-workflow" : "generic";
}

/** Generic JSON: snake_case or camelCase keys at the top level, utm_* flat or in a `utm` object. */
export function readGenericPayload(payload: Record<string, unknown>): PayloadFields {
  return readFields(fold(payload, false), payload.utm);
}

/**
 * HubSpot workflow webhooks and contact objects: legacy `{ vid, properties: { email: { value } } }`,
 * flat `{ objectId | hs_object_id, properties: { email } }`, or the properties at the top level.
 * Properties win over top-level keys of the same name.
 */
export function readHubspotPayload(payload: Record<string, unknown>): PayloadFields {
  const properties = isRecord(payload.properties)
    ? fold(payload.properties, true)
    : new Map<string, string>();
  const folded = new Map([...fold(payload, true), ...properties]);
  const fields = readFields(folded, undefined);
  const id = pick(folded, HUBSPOT_ID_KEYS);
  if (id !== undefined) fields.hubspotContactId = id;
  // HubSpot's original traffic source is the nearest thing to utm_source when none was captured.
  const analyticsSource = folded.get("hsanalyticssource");
  if (fields.utm.source === undefined && analyticsSource !== undefined) fields.utm.source = analyticsSource;
  return fields;
}

/** A form value: text, or the first text of a repeated field (Unbounce sends every value as a list). */
function formValue(value: unknown): string | undefined {
  if (Array.isArray(value)) {
    for (const item of value) {
      const text = toText(item);
      if (text !== undefined) return text;
    }
    return undefined;
  }
  return toText(value);
}

function jsonRecord(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return isRecord(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A web form post or a list-import row: field names as people name them (see the README's field map), one
 * value per field. Unbounce's `data.json` field (every answer as a list) and HubSpot forms' `hs_context`
 * (`pageName`) are read too; names starting with `_` are controls (`_redirect`, the honeypot), never data.
 */
export function readFormPayload(payload: Record<string, unknown>): PayloadFields {
  const flat: Record<string, string> = {};
  const unbounce = jsonRecord(formValue(payload["data.json"]));
  for (const source of [payload, unbounce ?? {}]) {
    for (const [key, value] of Object.entries(source)) {
      const text = key.startsWith("_") ? undefined : formValue(value);
      if (text !== undefined && !(key in flat)) flat[key] = text;
    }
  }
  const context = jsonRecord(flat.hs_context);
  const pageName = context ? toText(context.pageName) : undefined;
  if (pageName !== undefined) flat.page_name ??= pageName;
  return readFields(fold(flat, false), undefined);
}

/** The reader for a payload shape. HubSpot events are read after capture fetched their contact. */
export function readPayload(source: LeadSource, payload: Record<string, unknown>): PayloadFields {
  if (source === "generic") return readGenericPayload(payload);
  if (source === "form" || source === "import") return readFormPayload(payload);
  return readHubspotPayload(payload);
}

/** The lead field a form field or CSV column feeds (`utm.source` for utm_source), or undefined if none. */
export function fieldOfColumn(name: string): string | undefined {
  const key = foldFieldKey(name);
  for (const part of UTM_PARTS) if (key === `utm${part}`) return `utm.${part}`;
  for (const [field, keys] of Object.entries(FIELD_KEYS)) if (keys.includes(key)) return field;
  return undefined;
}
