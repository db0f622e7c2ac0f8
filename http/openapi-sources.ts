/**
 * The OpenAPI description of what `POST /webhooks/lead` accepts, for the document only: every field of
 * the generic payload with its type and limit, each source's shape, and every answer. Validation stays
 * where it is (app/intake.ts and app/payload-limits.ts), which reads values more leniently than a schema
 * would (a number in a zip field is read as text), so this is swapped in by @fastify/swagger's `transform`.
 */
import { WEBHOOK_ERROR_RESPONSES } from "./errors.ts";
import { acceptedSchema, batchResultsSchema, duplicateSchema } from "./webhook-schemas.ts";

const text = (description: string, maxLength = 300) => ({ type: "string", maxLength, description });

/** The generic lead. Keys are matched ignoring case, `_`, `-` and spaces: `first_name` = `firstName`. */
export const genericLeadSchema = {
  type: "object",
  required: ["email"],
  additionalProperties: true,
  description:
    "One lead. Keys are matched ignoring case, `_`, `-` and spaces (`first_name`, `firstName` and `First Name` " +
    "are one key); the first alias present wins. Free text longer than its limit is cut with a warning on the " +
    "lead, never refused; a value that cannot be read (a junk phone, an unknown country) is dropped with a " +
    "warning. Only `email` can make the delivery fail (422 naming `email`). Any string value is refused above " +
    "16,384 characters, the body above 32 levels of nesting or 20,000 fields (422 `payload_limit`), and above " +
    "256 KB (413).",
  properties: {
    email: {
      type: "string",
      maxLength: 254,
      format: "email",
      description:
        "Required. Aliases: email_address, work_email, business_email. `mailto:` and case are ignored.",
    },
    first_name: text("Aliases: firstname, given_name, fname."),
    last_name: text("Aliases: lastname, surname, family_name, lname."),
    full_name: text("Aliases: name. Split into first and last name when those are absent."),
    company: text("Aliases: company_name, organization, organisation."),
    title: text(
      "Job title; aliases: job_title, jobtitle, position, job_role. Seniority and department come from it.",
    ),
    country: text(
      "Country name, alias (UK, USA) or ISO code; normalised to ISO-3166 alpha-2. Aliases: country_code, country_region.",
      300,
    ),
    state: text(
      "US state or Canadian province (name or code), else free text. Aliases: state_code, province, region.",
    ),
    postal_code: text("Aliases: zip, zip_code, postcode."),
    website: text(
      "Company website or domain; the registrable domain is kept. Aliases: url, domain, company_website.",
    ),
    phone: text(
      "Normalised to E.164 (national numbers need a country). Aliases: phone_number, mobile, mobilephone, telephone, tel.",
    ),
    source: text(
      "The lead's channel (web, partner, event, ...), lower-cased; default `web`. Alias: lead_source.",
    ),
    campaign: text("Part of the idempotency key."),
    form: text(
      "Form name; part of the idempotency key. Aliases: form_name, page_name, recent_conversion_event_name.",
    ),
    message: text("Free text from the lead. Aliases: comments, comment.", 2000),
    utm_source: text("Also utm_medium, utm_campaign, utm_term, utm_content; or a nested `utm` object."),
    utm: {
      type: "object",
      description: "`{source, medium, campaign, term, content}`, as an alternative to the flat utm_* keys.",
      additionalProperties: { type: "string", maxLength: 300 },
    },
  },
} as const;

const hubspotWorkflowSchema = {
  type: "object",
  description:
    "A HubSpot workflow webhook or contact object: legacy `{vid, properties: {email: {value}}}`, flat " +
    "`{objectId | hs_object_id, properties: {email, firstname, ...}}`, or the properties at the top level " +
    "(HubSpot's internal property names). Alone or as the only item of an array.",
  properties: {
    vid: { type: "integer" },
    objectId: { type: "integer" },
    properties: { type: "object", additionalProperties: true },
  },
} as const;

const hubspotEventSchema = {
  type: "object",
  required: ["eventId", "objectId", "subscriptionType"],
  description:
    "A HubSpot app webhook event (Webhooks API). contact.creation makes a lead; contact.propertyChange makes one " +
    "only for a property (and value) named in HUBSPOT_EVENT_PROPERTIES (default lifecyclestage=marketingqualifiedlead); " +
    "any other event is answered `ignored`. The contact is read from HubSpot by `objectId`; the event id keys the lead.",
  properties: {
    eventId: { type: "integer" },
    subscriptionId: { type: "integer" },
    portalId: { type: "integer" },
    appId: { type: "integer" },
    occurredAt: { type: "integer", description: "ms since the epoch" },
    subscriptionType: { type: "string", examples: ["contact.creation", "contact.propertyChange"] },
    attemptNumber: { type: "integer" },
    objectId: { type: "integer", description: "The contact id." },
    propertyName: { type: "string" },
    propertyValue: { type: "string" },
    changeSource: { type: "string" },
  },
} as const;

function formSchema(honeypot: string) {
  return {
    type: "object",
    required: ["email"],
    description:
      "A web form: the generic lead's field names and aliases (HubSpot-form names such as firstname, jobtitle; " +
      "Unbounce names and its `data.json` field; `hs_context`'s pageName as the form). Accepted unsigned when the " +
      "Origin header is in FORM_ORIGINS, else the signature rules apply. Fields starting with `_` are controls, " +
      "never lead data.",
    properties: {
      ...genericLeadSchema.properties,
      _redirect: {
        type: "string",
        format: "uri",
        description:
          "Thank-you page to send the browser to (303). Must be on an origin in FORM_ORIGINS, else 400 naming " +
          "_redirect. Without it, posts from a page (Accept: text/html) go to FORM_REDIRECT_URL when set.",
      },
      [honeypot]: {
        type: "string",
        description:
          "Honeypot (FORM_HONEYPOT_FIELD): hide it from people; filled in, the post is answered as usual and dropped.",
      },
    },
  };
}

export const WEBHOOK_ERRORS =
  "Every error is `{error, message, field?}`: 400 `invalid_json`, `invalid_request` (query or header), " +
  "`invalid_redirect`, `invalid_form`, `file_not_accepted`; 401 `invalid_signature`; 413 `payload_too_large` " +
  "(256 KB), `batch_too_large` (more than WEBHOOK_BATCH_MAX items); 415 `unsupported_media_type`; 422 " +
  "`invalid_lead` (no valid email, empty batch), `payload_limit`, `forbidden_key` (a `__proto__` or " +
  "`constructor.prototype` field name); 429 `rate_limited` with Retry-After " +
  "(WEBHOOK_RATE_LIMIT); 503 `unavailable` with Retry-After (store or " +
  "queue down: retry the same delivery).";

/** The request bodies and answers of the webhook, by content type, as the document shows them. */
export function webhookDocs(options: { maxBatch: number; honeypot: string }) {
  const batch = {
    type: "array",
    minItems: 1,
    maxItems: options.maxBatch,
    description: `A batch of up to ${options.maxBatch} leads (WEBHOOK_BATCH_MAX): answered 207, one result per item.`,
    items: genericLeadSchema,
  };
  const events = {
    type: "array",
    minItems: 1,
    maxItems: options.maxBatch,
    description: "A HubSpot app webhook event batch (every item has subscriptionType): answered 207.",
    items: hubspotEventSchema,
  };
  const form = formSchema(options.honeypot);
  return {
    body: {
      content: {
        "application/json": { schema: { oneOf: [genericLeadSchema, hubspotWorkflowSchema, batch, events] } },
        "application/x-www-form-urlencoded": { schema: form },
        "multipart/form-data": { schema: { ...form, description: `${form.description} No files.` } },
      },
    },
    response: {
      200: { description: "A delivery already accepted: the first lead.", ...duplicateSchema },
      202: {
        description: 'Stored and queued (or `{status: "ignored"}`: a honeypot hit).',
        ...acceptedSchema,
      },
      207: batchResultsSchema,
      303: { description: "A form post from a browser: see Location (the thank-you page).", type: "null" },
      ...WEBHOOK_ERROR_RESPONSES,
    },
  };
}
