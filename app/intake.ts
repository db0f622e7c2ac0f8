/**
 * What the webhook checks before it stores a lead, and no more: the body is one lead (an object, or a
 * HubSpot batch of one), the lead has a valid email, and the inputs of its idempotency key. Names, phone,
 * country, company domain and the rest are normalised by the capture node in the worker, where a bad value
 * is only a warning.
 *
 * A lead accepted here must never be one that capture then rejects: capture rejects only a body that is not
 * one object and a missing or malformed email, and intake reads the email through the same functions
 * (tools/normalize/payload.ts, tools/normalize/email.ts) and fails with capture's field and message.
 * test/webhook.test.ts holds the two side by side.
 */
import { z } from "zod";
import { normalizeEmail } from "../domain/normalize/email.ts";
import { readHubspotEvent } from "../domain/normalize/hubspot-event.ts";
import { MAX_TEXT } from "../domain/normalize/lead.ts";
import { detectSource, readPayload } from "../domain/normalize/payload.ts";
import { truncate } from "../domain/normalize/text.ts";
import type { LeadSource } from "../domain/types.ts";

/** What a delivery without an Idempotency-Key or HubSpot event id is recognised by: the lead as capture reads it. */
export interface LeadKeyInputs {
  /** Normalised (trimmed, lower case). */
  email: string;
  campaign?: string;
  form?: string;
}

/** What intake already knows for the lead's search facets, before capture runs. */
export interface IntakeFacets {
  email: string;
  emailDomain: string;
  company?: string;
  /** The sender's channel field, lower case. */
  channel?: string;
}

export type IntakeResult =
  | { ok: true; source: LeadSource; keyInputs?: LeadKeyInputs; facets?: IntakeFacets }
  | { ok: false; field: string; message: string };

/**
 * One lead as the sender wrote it: generic JSON (snake_case or camelCase keys, utm_* flat or nested) or a
 * HubSpot workflow/contact payload (fields at the top level or in `properties`, legacy cells `{ value }`).
 * Which keys name which field is capture's business (tools/normalize/payload.ts): any value may be junk
 * there, since capture drops what it cannot read, so the object's keys are not constrained here.
 */
const leadObject = z.looseObject({});

/** A lead object, or a HubSpot batch holding exactly one. */
export const leadBodySchema = z.union([leadObject, z.tuple([leadObject])], {
  error: "payload must be a JSON object",
});

/** The body schema with the email check, for payloads of `forced` shape (detected when undefined). */
function intakeSchema(forced: LeadSource | undefined) {
  return leadBodySchema.transform((body, ctx) => {
    const payload = Array.isArray(body) ? body[0] : body;
    const source = forced ?? detectSource(payload);
    const fields = readPayload(source, payload);
    const email = normalizeEmail(fields.email);
    if (!email.ok) {
      ctx.issues.push({
        code: "custom",
        path: ["email"],
        input: fields.email,
        message:
          email.reason === "missing"
            ? "email is required"
            : "email is not a valid address (expected name@company.tld)",
      });
      return z.NEVER;
    }
    const keyInputs: LeadKeyInputs = { email: email.email };
    if (fields.campaign !== undefined) keyInputs.campaign = truncate(fields.campaign, MAX_TEXT).text;
    if (fields.form !== undefined) keyInputs.form = truncate(fields.form, MAX_TEXT).text;
    const facets: IntakeFacets = { email: email.email, emailDomain: email.domain };
    if (fields.company !== undefined) facets.company = truncate(fields.company, MAX_TEXT).text;
    if (fields.source !== undefined) facets.channel = truncate(fields.source.toLowerCase(), MAX_TEXT).text;
    return { source, keyInputs, facets };
  });
}

// Built once: a request only runs them.
const SCHEMAS = {
  detected: intakeSchema(undefined),
  generic: intakeSchema("generic"),
  "hubspot-workflow": intakeSchema("hubspot-workflow"),
  "hubspot-contact": intakeSchema("hubspot-contact"),
  form: intakeSchema("form"),
  import: intakeSchema("import"),
} as const;

/**
 * Checks a parsed webhook body; `forced` is the payload shape the sender named (`?source=`). A HubSpot
 * event carries no contact, only its id: it needs an event id (its idempotency key) and a contact id.
 */
export function checkIntake(body: unknown, forced?: LeadSource): IntakeResult {
  if (forced === "hubspot-event") {
    const read = readHubspotEvent(body);
    return read.ok ? { ok: true, source: "hubspot-event" } : read;
  }
  const result = SCHEMAS[forced ?? "detected"].safeParse(body);
  if (result.success) return { ok: true, ...result.data };
  const issue = result.error.issues[0];
  const field = issue?.path.length ? issue.path.join(".") : "body";
  return { ok: false, field, message: issue?.message ?? "payload is not a lead" };
}
