import {
  contactPayload,
  HUBSPOT_CONTACT_PROPERTIES,
  readHubspotEvent,
} from "../domain/normalize/hubspot-event.ts";
import { normalizePayload } from "../domain/normalize/lead.ts";
import type { Crm } from "../tools/ports.ts";
import type { LeadNode } from "./deps.ts";

/**
 * A payload capture cannot turn into a lead; the HTTP layer answers it with 422 naming `field`. Running it
 * again cannot help, so the queue does not retry it (`permanent`); an admin retry can, after a fix.
 */
export class InvalidLeadError extends Error {
  override readonly name = "InvalidLeadError";
  readonly code = "invalid_lead";
  readonly status = 422;
  readonly permanent = true;
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

/** A HubSpot event names a contact the CRM does not have (deleted, merged, or HubSpot not configured). */
export class ContactNotFoundError extends Error {
  override readonly name = "ContactNotFoundError";
  readonly code = "contact_not_found";
  readonly permanent = true;
}

/** Errors the queue should not retry on its own: the lead fails with the reason and waits for an admin. */
export function isPermanentError(err: unknown): boolean {
  return err instanceof InvalidLeadError || err instanceof ContactNotFoundError;
}

function notFoundMessage(crm: Pick<Crm, "name">, contactId: string): string {
  if (crm.name === "hubspot")
    return `HubSpot contact ${contactId} was not found (deleted or merged since the event); nothing to route`;
  return (
    `HubSpot contact ${contactId} cannot be read: HubSpot is not configured (the CRM is "${crm.name}"). ` +
    "Set HUBSPOT_ACCESS_TOKEN, restart, and retry this lead."
  );
}

/**
 * The capture node: normalises `state.raw`; an unusable payload fails the run with InvalidLeadError. A
 * HubSpot app webhook event carries only the contact's id: its properties are read through the Crm port,
 * once per run of this node (a retry of a later node resumes after capture and does not read it again).
 */
export function createCaptureNode(crm: Pick<Crm, "name" | "getContact">): LeadNode {
  return async (state) => {
    let raw = state.raw;
    let forced = state.source;
    if (state.source === "hubspot-event") {
      const read = readHubspotEvent(state.raw);
      if (!read.ok) throw new InvalidLeadError(read.field, read.message);
      const contact = await crm.getContact(read.event.objectId, HUBSPOT_CONTACT_PROPERTIES);
      if (!contact) throw new ContactNotFoundError(notFoundMessage(crm, read.event.objectId));
      raw = contactPayload(contact);
      forced = "hubspot-contact";
    }
    const result = normalizePayload(raw, forced);
    if (!result.ok) {
      const about =
        forced === state.source ? "" : `HubSpot contact ${(raw as { objectId: string }).objectId}: `;
      throw new InvalidLeadError(result.field, `${about}${result.message}`);
    }
    return { source: state.source ?? result.source, lead: result.lead, warnings: result.warnings };
  };
}
