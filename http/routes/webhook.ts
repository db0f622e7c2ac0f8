/**
 * `POST /webhooks/lead`: verify the signature, check the lead (http/intake.ts: its shape and email, not
 * the full normalisation, which capture does in the worker), claim the idempotency key, store the lead,
 * enqueue it, and only then answer 202. Every 2xx means the lead is stored and has a job; anything the
 * service could not do is a 503 the sender retries, and a retried delivery lands on the same lead.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { idempotencyKeyOf, MAX_IDEMPOTENCY_KEY_LENGTH } from "../../app/idempotency.ts";
import { checkIntake } from "../../app/intake.ts";
import type { LeadSource } from "../../domain/types.ts";
import type { IdempotencyClaim, LeadRecord } from "../../store/lead-store.ts";
import { errorRef, HttpError, unavailable } from "../errors.ts";
import {
  GENERIC_SIGNATURE_HEADER,
  HUBSPOT_SIGNATURE_HEADER,
  HUBSPOT_TIMESTAMP_HEADER,
  type SignatureCheck,
  signingKey,
  verifyGenericSignature,
  verifyHubspotV3,
} from "../signatures.ts";

interface WebhookQuery {
  source?: "generic" | "hubspot";
}

const FORCED_SOURCE: Record<NonNullable<WebhookQuery["source"]>, LeadSource> = {
  generic: "generic",
  hubspot: "hubspot-workflow",
};

/** How long a duplicate waits for the first delivery of its lead to finish storing it. */
const CLAIM_WAIT_MS = 2000;

const leadBody = {
  description:
    "One lead: generic JSON (snake_case or camelCase keys, utm_* flat or nested) or a HubSpot workflow/contact payload " +
    "(legacy `{vid, properties: {email: {value}}}`, flat `{objectId, properties: {email}}`, or a batch of one). " +
    "Only `email` is required.",
  type: ["object", "array"],
  examples: [
    {
      email: "ada@example.com",
      first_name: "Ada",
      last_name: "Lovelace",
      company: "Example Ltd",
      title: "VP Engineering",
      country: "UK",
      website: "https://example.com",
      form: "demo-request",
    },
  ],
} as const;

const acceptedSchema = {
  type: "object",
  required: ["leadId", "status"],
  properties: {
    leadId: { type: "string" },
    status: { type: "string", enum: ["queued"] },
  },
} as const;

const duplicateSchema = {
  type: "object",
  required: ["leadId", "status", "duplicate"],
  properties: {
    leadId: { type: "string" },
    status: { type: "string", enum: ["queued", "running", "completed", "failed"] },
    duplicate: { type: "boolean", enum: [true] },
  },
} as const;

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export default async function webhookRoutes(app: FastifyInstance): Promise<void> {
  const { env } = app;
  const { store, queue } = app.runtime;
  const publicOrigin = env.PUBLIC_URL ? new URL(env.PUBLIC_URL).origin : undefined;
  const hubspotKey = env.HUBSPOT_CLIENT_SECRET ? signingKey(env.HUBSPOT_CLIENT_SECRET) : undefined;
  const genericKey = env.WEBHOOK_SECRET ? signingKey(env.WEBHOOK_SECRET) : undefined;

  /** HubSpot signs the URL it called; behind a proxy that is PUBLIC_URL's origin, not our own host. */
  function requestUri(request: FastifyRequest): string {
    return `${publicOrigin ?? `${request.protocol}://${request.host}`}${request.url}`;
  }

  /**
   * With no secret configured, deliveries are not signed. With one or both configured, a delivery must
   * carry a valid signature of a configured scheme: the HubSpot one when its header is present, else the
   * generic one, else whichever is configured (which then names the missing header).
   */
  function checkSignature(request: FastifyRequest): SignatureCheck {
    const body = request.rawBody ?? Buffer.alloc(0);
    const hubspotSigned = header(request, HUBSPOT_SIGNATURE_HEADER) !== undefined;
    const genericSigned = header(request, GENERIC_SIGNATURE_HEADER) !== undefined;
    if (hubspotKey && (hubspotSigned || !genericSigned || !genericKey))
      return verifyHubspotV3(hubspotKey, {
        method: request.method,
        uri: requestUri(request),
        body,
        signature: header(request, HUBSPOT_SIGNATURE_HEADER),
        timestamp: header(request, HUBSPOT_TIMESTAMP_HEADER),
      });
    if (genericKey)
      return verifyGenericSignature(genericKey, body, header(request, GENERIC_SIGNATURE_HEADER));
    return { ok: true };
  }

  /**
   * The lead a duplicate delivery's key points at, made sure to have a job; a 503 when that cannot be
   * known or done, so the sender retries.
   */
  async function duplicateOf(request: FastifyRequest, key: string, leadId: string): Promise<LeadRecord> {
    let lead: LeadRecord | null;
    try {
      lead = await claimedLead(leadId);
    } catch (err) {
      request.log.error({ leadId, err: String(err) }, "could not read the claimed lead");
      throw unavailable();
    }
    if (!lead) {
      // The delivery that claimed the key never stored its lead (it died in between): free the key so
      // this sender's retry can store it, and make sure it retries.
      await store.releaseIdempotencyKey(key, leadId).catch(() => undefined);
      request.log.warn({ leadId }, "stale idempotency claim released");
      throw unavailable("an earlier delivery of this lead did not complete; retry");
    }
    if (lead.status === "queued") {
      // The first delivery may have stored the lead and died before enqueueing it; one job per lead
      // either way, since the job id is the lead id.
      try {
        await queue.enqueue(leadId);
      } catch (err) {
        request.log.error({ leadId, err: String(err) }, "enqueue of duplicate's lead failed");
        throw unavailable();
      }
    }
    request.log.info({ leadId, status: lead.status }, "duplicate delivery");
    return lead;
  }

  /** The record the claim points at; a first delivery still being stored gets a moment to finish. */
  async function claimedLead(leadId: string): Promise<LeadRecord | null> {
    const deadline = Date.now() + CLAIM_WAIT_MS;
    for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
      const lead = await store.getLead(leadId);
      if (lead || Date.now() >= deadline) return lead;
      await sleep(wait);
    }
  }

  app.post<{ Querystring: WebhookQuery; Body: unknown }>(
    "/webhooks/lead",
    {
      schema: {
        summary: "Accept one inbound lead",
        description:
          "202 once the lead is stored and queued; 200 with `duplicate: true` for a delivery already accepted " +
          "(same Idempotency-Key, HubSpot event id, or email + campaign + form within 72 h). " +
          "Signed with X-HubSpot-Signature-v3 or X-Signature when a secret is configured.",
        tags: ["intake"],
        querystring: {
          type: "object",
          properties: {
            source: {
              type: "string",
              enum: ["generic", "hubspot"],
              description: "Payload shape; detected when absent.",
            },
          },
        },
        headers: {
          type: "object",
          properties: {
            "idempotency-key": { type: "string", minLength: 1, maxLength: MAX_IDEMPOTENCY_KEY_LENGTH },
            [GENERIC_SIGNATURE_HEADER]: {
              type: "string",
              description: "sha256=<hex HMAC-SHA256 of the body>",
            },
            [HUBSPOT_SIGNATURE_HEADER]: { type: "string" },
            [HUBSPOT_TIMESTAMP_HEADER]: { type: "string" },
          },
        },
        body: leadBody,
        response: {
          200: duplicateSchema,
          202: acceptedSchema,
          400: errorRef,
          401: errorRef,
          413: errorRef,
          415: errorRef,
          422: errorRef,
          503: errorRef,
        },
      },
    },
    async (request, reply) => {
      const signature = checkSignature(request);
      if (!signature.ok) throw new HttpError(401, "invalid_signature", signature.message, signature.field);

      const forced = request.query.source ? FORCED_SOURCE[request.query.source] : undefined;
      const intake = checkIntake(request.body, forced);
      if (!intake.ok) throw new HttpError(422, "invalid_lead", intake.message, intake.field);

      const key = idempotencyKeyOf(header(request, "idempotency-key"), request.body, intake.keyInputs);
      const leadId = randomUUID();
      request.leadId = leadId;

      // Error lines name the lead as a field: a child logger per request would cost more than it saves.
      let claim: IdempotencyClaim;
      try {
        claim = await store.claimIdempotencyKey(key, leadId);
      } catch (err) {
        request.log.error({ leadId, err: String(err) }, "idempotency claim failed");
        throw unavailable();
      }
      if (!claim.claimed) {
        request.leadId = claim.leadId;
        const lead = await duplicateOf(request, key, claim.leadId);
        app.metrics.leadDuplicate(intake.source);
        return reply.code(200).send({ leadId: claim.leadId, status: lead.status, duplicate: true });
      }

      try {
        await store.createLead({
          leadId,
          source: intake.source,
          receivedAt: new Date().toISOString(),
          idempotencyKey: key,
          payload: request.body,
        });
      } catch (err) {
        request.log.error({ leadId, err: String(err) }, "storing the lead failed");
        await store.releaseIdempotencyKey(key, leadId).catch((releaseErr: unknown) => {
          // The claim then expires with its TTL; until then the sender's retries get 503 and a release.
          request.log.error({ leadId, err: String(releaseErr) }, "releasing the idempotency claim failed");
        });
        throw unavailable();
      }

      try {
        await queue.enqueue(leadId);
      } catch (err) {
        // The lead is stored as queued: the sender's retry (a duplicate) enqueues it, and so does the next
        // worker start.
        request.log.error({ leadId, err: String(err) }, "enqueue failed");
        throw unavailable();
      }

      app.metrics.leadReceived(intake.source);
      // The access line (http/app.ts) names the lead: no second line for an accepted one.
      return reply.code(202).send({ leadId, status: "queued" });
    },
  );
}
