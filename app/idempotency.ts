/**
 * The idempotency key of a webhook delivery: the sender's `Idempotency-Key` header, else HubSpot's event
 * id, else a hash of the normalised email with the campaign and form (the same person filling in the same
 * form again inside the key's TTL is the same lead).
 */
import { hash } from "node:crypto";
import { isRecord } from "../domain/normalize/text.ts";
import type { LeadKeyInputs } from "./intake.ts";

export const MAX_IDEMPOTENCY_KEY_LENGTH = 200;

function sha256(text: string): string {
  // One-shot: no Hash object per request.
  return hash("sha256", text, "hex");
}

function scalar(value: unknown): string | undefined {
  return typeof value === "string" || typeof value === "number"
    ? String(value).trim() || undefined
    : undefined;
}

/** HubSpot webhook events carry `eventId` (and `portalId`); a batch of one is that one event. */
export function hubspotEventId(body: unknown): string | undefined {
  const event = Array.isArray(body) && body.length === 1 ? body[0] : body;
  if (!isRecord(event)) return undefined;
  const eventId = scalar(event.eventId);
  if (eventId === undefined) return undefined;
  return `${scalar(event.portalId) ?? "-"}:${eventId}`;
}

export function idempotencyKeyOf(
  header: string | undefined,
  body: unknown,
  lead: LeadKeyInputs | undefined,
): string {
  const given = header?.trim();
  if (given) return `key:${given}`;
  const event = hubspotEventId(body);
  if (event) return `hubspot-event:${event}`;
  // Intake gives every delivery without an event id the lead's inputs.
  if (!lead) throw new TypeError("a delivery without an event id needs the lead's key inputs");
  // Hashed: the key is stored and may be logged, the email must not be.
  return `lead:${sha256([lead.email, lead.campaign ?? "", lead.form ?? ""].join("\n"))}`;
}
