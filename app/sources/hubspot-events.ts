/**
 * HubSpot developer-app webhook event batches: each event that makes a lead (domain/normalize/hubspot-event.ts)
 * is accepted on its own, keyed by its event id, and the contact is read later by capture; the others are
 * acknowledged with an `ignored` result, so HubSpot does not redeliver them.
 */
import { classifyEvent, type EventRules } from "../../domain/normalize/hubspot-event.ts";
import { type Accept, type ItemResult, itemResult } from "./batch.ts";

export type EventResult = ItemResult & { eventId?: string };

export async function acceptHubspotEvents(
  accept: Accept,
  events: unknown[],
  rules: EventRules,
): Promise<EventResult[]> {
  const results: EventResult[] = [];
  for (const raw of events) {
    const decision = classifyEvent(raw, rules);
    if (decision.kind === "invalid") {
      results.push({ error: "invalid_event", message: decision.message, field: decision.field });
    } else if (decision.kind === "ignored") {
      const eventId = String((raw as { eventId?: unknown }).eventId ?? "");
      results.push({
        ...(eventId ? { eventId } : {}),
        status: "ignored",
        reason: decision.reason,
        message: decision.message,
      });
    } else {
      const result = itemResult(await accept({ body: raw, source: "hubspot-event" }));
      results.push({ eventId: decision.event.eventId, ...result });
    }
  }
  return results;
}
