/**
 * Several leads in one delivery (a JSON array, HubSpot's event batches, list imports): each item is claimed,
 * stored and enqueued on its own, in order, and gets its own result; a bad item never blocks the others.
 * A store or queue outage is not an item's fault: it stops the batch and propagates, so the sender retries
 * the whole delivery, whose stored items then come back as duplicates.
 */

import { checkPayloadLimits } from "../payload-limits.ts";
import type { AcceptResult, Delivery, Refusal } from "./delivery.ts";

/** What happened to one item of a batch, in the item's position. */
export type ItemResult =
  | { leadId: string; status: string; duplicate?: true }
  | { error: string; message: string; field: string }
  | { status: "ignored"; reason: string; message: string };

export type Accept = (delivery: Delivery) => Promise<AcceptResult>;

export function itemResult(result: AcceptResult): ItemResult {
  if (!result.ok)
    return {
      error: result.limit ? "payload_limit" : "invalid_lead",
      message: result.message,
      field: result.field,
    };
  return result.duplicate
    ? { leadId: result.leadId, status: result.status, duplicate: true }
    : { leadId: result.leadId, status: result.status };
}

/** Accepts each delivery in order (sequentially: a duplicate inside the batch lands on the earlier item). */
export async function acceptEach(accept: Accept, deliveries: Delivery[]): Promise<ItemResult[]> {
  const results: ItemResult[] = [];
  for (const delivery of deliveries) results.push(itemResult(await accept(delivery)));
  return results;
}

/** A batch's results in its items' order, or its refusal as a whole (it breaks a payload limit). */
export type BatchOutcome<R> = { ok: true; results: R[] } | Refusal;

/** The payload limits bound a whole delivery, a batch included, before any item is stored. */
export async function wholeBatch<R>(bodies: unknown[], run: () => Promise<R[]>): Promise<BatchOutcome<R>> {
  const limits = checkPayloadLimits(bodies);
  if (!limits.ok) return limits;
  return { ok: true, results: await run() };
}
