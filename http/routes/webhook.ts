/**
 * `POST /webhooks/lead`: verify the signature, then hand the lead to LeadService.accept (app/payload-limits.ts
 * bounds its depth, field count and string sizes, app/intake.ts checks its shape and email; the service claims
 * the idempotency key, stores the lead and enqueues it), and only then answer 202. Every 2xx means the lead is stored and has a job; anything the
 * service could not do is a 503 the sender retries, and a retried delivery lands on the same lead.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { MAX_IDEMPOTENCY_KEY_LENGTH } from "../../app/idempotency.ts";
import type { AcceptResult, ItemResult } from "../../app/lead-service.ts";
import { deliveryShape, type ForcedShape } from "../../domain/normalize/delivery.ts";
import type { LeadSource } from "../../domain/types.ts";
import { HttpError, orUnavailable, refused, WEBHOOK_ERROR_RESPONSES } from "../errors.ts";
import { allowedOrigin, formPolicy, isHoneypotHit, redirectTarget } from "../form-posts.ts";
import {
  GENERIC_SIGNATURE_HEADER,
  HUBSPOT_SIGNATURE_HEADER,
  HUBSPOT_TIMESTAMP_HEADER,
  type SignatureCheck,
  signingKey,
  verifyGenericSignature,
  verifyHubspotV3,
} from "../signatures.ts";
import { acceptedSchema, batchResultsSchema, duplicateSchema } from "../webhook-schemas.ts";

interface WebhookQuery {
  source?: ForcedShape;
}

const FORCED_SOURCE: Record<"generic" | "hubspot", LeadSource> = {
  generic: "generic",
  hubspot: "hubspot-workflow",
};

const leadBody = {
  description:
    "One lead: generic JSON (snake_case or camelCase keys, utm_* flat or nested) or a HubSpot workflow/contact payload " +
    "(legacy `{vid, properties: {email: {value}}}`, flat `{objectId, properties: {email}}`, or a batch of one); " +
    "a JSON array of leads (a batch, answered 207); or a HubSpot app webhook event batch. " +
    "Only `email` is required. At most 32 levels deep, 20,000 fields, 16,384 characters a string (else 422 payload_limit).",
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

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function sourceOf(query: WebhookQuery): { source?: LeadSource } {
  const forced =
    query.source === "generic" || query.source === "hubspot" ? FORCED_SOURCE[query.source] : undefined;
  return forced ? { source: forced } : {};
}

function keyOf(idempotencyKey: string | undefined, index: number): { idempotencyKey?: string } {
  return idempotencyKey ? { idempotencyKey: `${idempotencyKey}#${index}` } : {};
}

export default async function webhookRoutes(app: FastifyInstance): Promise<void> {
  const { env } = app;
  const publicOrigin = env.PUBLIC_URL ? new URL(env.PUBLIC_URL).origin : undefined;
  const hubspotKey = env.HUBSPOT_CLIENT_SECRET ? signingKey(env.HUBSPOT_CLIENT_SECRET) : undefined;
  const genericKey = env.WEBHOOK_SECRET ? signingKey(env.WEBHOOK_SECRET) : undefined;
  const forms = formPolicy(env);

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
    // A content type whose parser kept no raw body is checked as empty, so its signature fails: closed.
    // Browsers cannot sign: a form posted from an allowed page's origin is trusted by that origin.
    if (request.formPost && allowedOrigin(request, forms)) return { ok: true };
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

  function countResults(source: string, results: ItemResult[]): void {
    for (const r of results) {
      if ("error" in r) continue;
      if (r.status === "ignored") app.metrics.deliveryIgnored(source, "reason" in r ? r.reason : "ignored");
      else if ("duplicate" in r) app.metrics.leadDuplicate(source);
      else app.metrics.leadReceived(source);
    }
  }

  /**
   * The sender's `Idempotency-Key`, when it may choose the key. When deliveries are signed it may not: the
   * header is outside the signature, so a replayed body with a new key would be a new lead (a new DM, a new
   * CRM note). Signed deliveries are keyed by what the signature covers: the HubSpot event id in the body,
   * else the lead's email, campaign and form.
   */
  const signed = hubspotKey !== undefined || genericKey !== undefined;
  function senderIdempotencyKey(request: FastifyRequest): string | undefined {
    return signed ? undefined : header(request, "idempotency-key");
  }

  /** A web form post: honeypot, then the lead, then a 303 to the thank-you page or a JSON answer. */
  async function acceptForm(
    request: FastifyRequest,
    reply: FastifyReply,
    idempotencyKey: string | undefined,
  ) {
    const fields = (request.body ?? {}) as Record<string, unknown>;
    const target = redirectTarget(request, fields, forms);
    const origin = allowedOrigin(request, forms);
    if (origin) reply.header("access-control-allow-origin", origin).header("vary", "Origin");
    if (isHoneypotHit(fields, forms)) {
      app.metrics.deliveryIgnored("form", "honeypot");
      return target ? reply.redirect(target, 303) : reply.code(202).send({ status: "ignored" });
    }
    const result = await orUnavailable(
      app.leads.accept(
        { body: fields, source: "form", ...(idempotencyKey ? { idempotencyKey } : {}) },
        request.log,
      ),
    );
    if (!result.ok) throw refused(result);
    request.leadId = result.leadId;
    if (result.duplicate) app.metrics.leadDuplicate("form");
    else app.metrics.leadReceived("form");
    if (target) return reply.redirect(target, 303);
    return result.duplicate
      ? reply.code(200).send({ leadId: result.leadId, status: result.status, duplicate: true })
      : reply.code(202).send({ leadId: result.leadId, status: "queued" });
  }

  app.post<{ Querystring: WebhookQuery; Body: unknown }>(
    "/webhooks/lead",
    {
      // Counted before the body is even read.
      onRequest: app.rateLimits.webhook,
      // Before any validation of the query, headers or body: an unsigned sender learns nothing about them.
      preValidation: async (request) => {
        const signature = checkSignature(request);
        if (!signature.ok) throw new HttpError(401, "invalid_signature", signature.message, signature.field);
      },
      schema: {
        summary: "Accept inbound leads: one, a batch, or a HubSpot app webhook event batch",
        description:
          "202 once the lead is stored and queued; 200 with `duplicate: true` for a delivery already accepted " +
          "(same Idempotency-Key, HubSpot event id, or email + campaign + form within 72 h). " +
          "A JSON array (at most WEBHOOK_BATCH_MAX items, default 100) answers 207 with one result per item; " +
          "with an Idempotency-Key, item i is keyed `<key>#i`. " +
          "Signed with X-HubSpot-Signature-v3 or X-Signature (timestamped; stale after 5 minutes) when a secret " +
          "is configured; the signature is checked before anything else about the request.",
        tags: ["intake"],
        querystring: {
          type: "object",
          properties: {
            source: {
              type: "string",
              enum: ["generic", "hubspot", "hubspot-events"],
              description:
                "Payload shape; detected when absent (an array whose items all have `subscriptionType` is a " +
                "HubSpot app webhook event batch).",
            },
          },
        },
        headers: {
          type: "object",
          properties: {
            [GENERIC_SIGNATURE_HEADER]: {
              type: "string",
              description: 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>"> (v1 may repeat)',
            },
            "idempotency-key": {
              type: "string",
              minLength: 1,
              maxLength: MAX_IDEMPOTENCY_KEY_LENGTH,
              description: "Chooses the idempotency key; ignored when deliveries are signed (it is not).",
            },
            [HUBSPOT_SIGNATURE_HEADER]: { type: "string" },
            [HUBSPOT_TIMESTAMP_HEADER]: { type: "string" },
          },
        },
        body: leadBody,
        response: {
          200: duplicateSchema,
          202: acceptedSchema,
          207: batchResultsSchema,
          ...WEBHOOK_ERROR_RESPONSES,
        },
      },
    },
    async (request, reply) => {
      const idempotencyKey = senderIdempotencyKey(request);
      if (request.formPost) return acceptForm(request, reply, idempotencyKey);
      // An empty body reaches the handler coerced by the schema (`coerceTypes: "array"`): it is no body.
      const body = request.rawBody?.length ? request.body : undefined;
      const shape = deliveryShape(body, request.query.source);
      if (shape.kind !== "single") {
        const items = shape.kind === "events" ? shape.events : shape.items;
        if (items.length === 0) throw new HttpError(422, "invalid_lead", "the batch is empty", "body");
        if (items.length > env.WEBHOOK_BATCH_MAX)
          throw new HttpError(
            413,
            "batch_too_large",
            `a batch holds at most ${env.WEBHOOK_BATCH_MAX} items; this one has ${items.length}`,
            "body",
          );
        const outcome = await orUnavailable(
          shape.kind === "events"
            ? app.leads.acceptHubspotEvents(shape.events, request.log)
            : app.leads.acceptBatch(
                shape.items.map((body, i) => ({
                  body,
                  ...sourceOf(request.query),
                  ...keyOf(idempotencyKey, i),
                })),
                request.log,
              ),
        );
        if (!outcome.ok) throw refused(outcome);
        countResults(shape.kind === "events" ? "hubspot-event" : "batch", outcome.results);
        return reply.code(207).send({ results: outcome.results });
      }

      const result: AcceptResult = await orUnavailable(
        app.leads.accept(
          { body, ...sourceOf(request.query), ...(idempotencyKey ? { idempotencyKey } : {}) },
          request.log,
        ),
      );
      if (!result.ok) throw refused(result);
      request.leadId = result.leadId;
      if (result.duplicate) {
        app.metrics.leadDuplicate(result.source);
        return reply.code(200).send({ leadId: result.leadId, status: result.status, duplicate: true });
      }
      app.metrics.leadReceived(result.source);
      // The access line (http/app.ts) names the lead: no second line for an accepted one.
      return reply.code(202).send({ leadId: result.leadId, status: "queued" });
    },
  );
}
