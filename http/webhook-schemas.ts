/** Response schemas of `POST /webhooks/lead` (http/routes/webhook.ts). */

/** A stored, queued lead; `{status: "ignored"}` alone for a form post a honeypot caught (nothing stored). */
export const acceptedSchema = {
  type: "object",
  required: ["status"],
  properties: {
    leadId: { type: "string" },
    status: { type: "string", enum: ["queued", "ignored"] },
  },
} as const;

export const duplicateSchema = {
  type: "object",
  required: ["leadId", "status", "duplicate"],
  properties: {
    leadId: { type: "string" },
    status: { type: "string", enum: ["queued", "running", "retrying", "awaiting", "completed", "failed"] },
    duplicate: { type: "boolean", enum: [true] },
  },
} as const;

/** One item's outcome in a 207: a lead (new or duplicate), a rejection naming the field, or an ignored event. */
const itemResultSchema = {
  type: "object",
  description:
    "`{leadId, status, duplicate?}` for a stored lead; `{error, message, field}` for an item the sender got " +
    'wrong (nothing stored); `{status: "ignored", reason, message}` for a HubSpot event that makes no lead. ' +
    "HubSpot event results also carry `eventId`.",
  properties: {
    eventId: { type: "string" },
    leadId: { type: "string" },
    status: {
      type: "string",
      enum: ["queued", "running", "retrying", "awaiting", "completed", "failed", "ignored"],
    },
    duplicate: { type: "boolean" },
    error: { type: "string" },
    message: { type: "string" },
    field: { type: "string" },
    reason: { type: "string", enum: ["subscription_type", "property", "property_value"] },
  },
} as const;

export const batchResultsSchema = {
  type: "object",
  required: ["results"],
  description: "One result per item of the delivery, in the items' order.",
  properties: { results: { type: "array", items: itemResultSchema } },
} as const;
