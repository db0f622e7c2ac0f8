/**
 * What one webhook delivery holds, from its JSON shape alone: one lead, a batch of leads, or a HubSpot app
 * webhook event batch. Pure.
 */
import { isHubspotEventBatch } from "./hubspot-event.ts";
import { detectSource } from "./payload.ts";
import { isRecord } from "./text.ts";

/** The shape a sender may name with `?source=` instead of having it detected. */
export type ForcedShape = "generic" | "hubspot" | "hubspot-events";

export type DeliveryShape =
  | { kind: "single" }
  | { kind: "events"; events: unknown[] }
  | { kind: "batch"; items: unknown[] };

export function deliveryShape(body: unknown, forced?: ForcedShape): DeliveryShape {
  if (forced === "hubspot-events") return { kind: "events", events: Array.isArray(body) ? body : [body] };
  if (!Array.isArray(body)) return { kind: "single" };
  if (forced !== "generic" && isHubspotEventBatch(body)) return { kind: "events", events: body };
  // A one-item array holding a HubSpot workflow or contact payload has always been that one lead.
  const [only] = body;
  if (body.length === 1 && isRecord(only)) {
    const hubspot = forced === "hubspot" || (forced === undefined && detectSource(only) !== "generic");
    if (hubspot) return { kind: "single" };
  }
  return { kind: "batch", items: body };
}
