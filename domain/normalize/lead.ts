/** Capture's normalisation: any lead payload to a NormalizedLead, pure. */

import type { Issue, LeadSource, NormalizedLead } from "../types.ts";
import { normalizeCountry } from "./country.ts";
import { registrableDomain } from "./domain.ts";
import { normalizeEmail } from "./email.ts";
import { isDisposableDomain, isFreeMailDomain } from "./free-mail.ts";
import { completeName } from "./name.ts";
import { detectSource, type PayloadFields, readPayload } from "./payload.ts";
import { toE164 } from "./phone.ts";
import { regionOf } from "./region.ts";
import { isRecord, truncate } from "./text.ts";
import { stateCode } from "./us-ca-states.ts";

export type CaptureResult =
  | { ok: true; source: LeadSource; lead: NormalizedLead; warnings: Issue[] }
  | { ok: false; field: string; message: string };

const MAX_MESSAGE = 2000;
/** Longest kept free text other than the message; intake keys on the same cut. */
export const MAX_TEXT = 300;

/** The channel of a lead that names none. */
const DEFAULT_CHANNEL: Record<LeadSource, string> = {
  generic: "web",
  form: "web",
  import: "import",
  "hubspot-workflow": "hubspot",
  "hubspot-contact": "hubspot",
  "hubspot-event": "hubspot",
};

function warning(code: string, message: string): Issue {
  return { node: "capture", code, message };
}

/** HubSpot batches webhook events in arrays; a batch of one is that one payload. */
function unwrapPayload(raw: unknown): Record<string, unknown> | undefined {
  if (Array.isArray(raw) && raw.length === 1 && isRecord(raw[0])) return raw[0];
  return isRecord(raw) ? raw : undefined;
}

// Parsed fields are exempt: their normalised form is short, and a cut could turn junk into a value.
const PARSED: ReadonlySet<keyof PayloadFields> = new Set(["email", "website", "phone", "country", "utm"]);

/** Caps free-text fields so a pasted essay cannot bloat state, prompts and CRM notes. */
function capLengths(fields: PayloadFields, warnings: Issue[]): PayloadFields {
  const cap = (name: string, value: string): string => {
    const max = name === "message" ? MAX_MESSAGE : MAX_TEXT;
    const { text, truncated } = truncate(value, max);
    if (truncated)
      warnings.push(warning("truncated", `${name} was longer than ${max} characters and was cut`));
    return text;
  };
  const capped: PayloadFields = { ...fields, utm: {} };
  for (const [key, value] of Object.entries(fields) as Array<[keyof PayloadFields, unknown]>) {
    if (typeof value === "string" && !PARSED.has(key)) Object.assign(capped, { [key]: cap(key, value) });
  }
  for (const [part, value] of Object.entries(fields.utm)) capped.utm[part] = cap(`utm.${part}`, value);
  return capped;
}

/** Echoes a sender's value in a warning without letting it grow the warning unboundedly. */
function quote(value: string): string {
  return JSON.stringify(truncate(value, 40).text);
}

function companyDomainOf(fields: PayloadFields, emailDomain: string, warnings: Issue[]): string | undefined {
  if (fields.website !== undefined) {
    const fromWebsite = registrableDomain(fields.website);
    if (fromWebsite) return fromWebsite;
    warnings.push(warning("invalid_website", "website has no registrable domain; ignored"));
  }
  if (isFreeMailDomain(emailDomain) || isDisposableDomain(emailDomain)) return undefined;
  return registrableDomain(emailDomain);
}

/**
 * Turns any lead payload into a NormalizedLead. Pure: rejects only a missing or malformed email
 * (or a payload that is not an object); every other problem becomes a warning and an absent field.
 */
export function normalizePayload(raw: unknown, forced?: LeadSource): CaptureResult {
  const payload = unwrapPayload(raw);
  if (!payload) return { ok: false, field: "body", message: "payload must be a JSON object" };
  const source = forced ?? detectSource(payload);
  const warnings: Issue[] = [];
  const fields = capLengths(readPayload(source, payload), warnings);

  const email = normalizeEmail(fields.email);
  if (!email.ok) {
    const message =
      email.reason === "missing"
        ? "email is required"
        : "email is not a valid address (expected name@company.tld)";
    return { ok: false, field: "email", message };
  }

  const lead: NormalizedLead = {
    email: email.email,
    emailDomain: email.domain,
    ...completeName(fields),
    source: (fields.source ?? DEFAULT_CHANNEL[source]).toLowerCase(),
    utm: fields.utm,
  };
  for (const key of [
    "company",
    "title",
    "postalCode",
    "campaign",
    "form",
    "message",
    "hubspotContactId",
  ] as const) {
    const value = fields[key];
    if (value !== undefined) lead[key] = value;
  }

  const companyDomain = companyDomainOf(fields, email.domain, warnings);
  if (companyDomain) lead.companyDomain = companyDomain;

  if (fields.country !== undefined) {
    const country = normalizeCountry(fields.country);
    if (country) {
      lead.country = country;
      const region = regionOf(country);
      if (region) lead.region = region;
    } else {
      warnings.push(
        warning("unknown_country", `country ${quote(fields.country)} is not a recognised country`),
      );
    }
  }

  if (fields.state !== undefined) {
    const code = stateCode(fields.state, lead.country);
    lead.state = code ?? fields.state;
    if (!code && (lead.country === "US" || lead.country === "CA")) {
      warnings.push(
        warning("unknown_state", `state ${quote(fields.state)} is not a ${lead.country} state or province`),
      );
    }
  }

  if (fields.phone !== undefined) {
    const phone = toE164(fields.phone, lead.country);
    if (phone) lead.phone = phone;
    else {
      const hint = lead.country ? ` for ${lead.country}` : " (national number without a country)";
      warnings.push(warning("invalid_phone", `phone is not a valid number${hint}; dropped`));
    }
  }

  return { ok: true, source, lead, warnings };
}
