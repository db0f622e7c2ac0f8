/** What a lead source hands the service (one delivery) and what it gets back; shared by every source. */
import type { LeadSource } from "../../domain/types.ts";
import type { LeadStatus } from "../../store/lead-store.ts";
import type { Lane } from "../../store/queue/job-queue.ts";
import type { PayloadLimit } from "../payload-limits.ts";

/** One delivery of a lead, as the host received it. */
export interface Delivery {
  /** The parsed body: one lead object (or a HubSpot batch of one). */
  body: unknown;
  /** The payload shape the sender named (`?source=`); detected when absent. */
  source?: LeadSource;
  /** The sender's `Idempotency-Key`, when it may choose the key. */
  idempotencyKey?: string;
  /** The queue lane: "bulk" for list imports, so live leads keep priority. Default "live". */
  lane?: Lane;
}

/** Why a delivery was refused: it is not a lead, or it breaks a size or shape limit (app/payload-limits.ts). */
export type Refusal =
  | { ok: false; field: string; message: string; limit?: undefined }
  | { ok: false; field: string; message: string; limit: PayloadLimit };

export type AcceptResult =
  | { ok: true; duplicate: false; leadId: string; status: "queued"; source: LeadSource }
  | { ok: true; duplicate: true; leadId: string; status: LeadStatus; source: LeadSource }
  | Refusal;
