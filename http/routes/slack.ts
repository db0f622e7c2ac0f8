/**
 * `POST /slack/interactions`: Slack's request when someone clicks a button or picks an option in a LeadGraph
 * message. The signature (`v0`, SLACK_SIGNING_SECRET) is checked on the raw bytes before the payload is read;
 * the click becomes an owner or review action (`LeadService.act`, via "slack", by the clicking user's id),
 * which is queued: Slack is answered at once (it allows 3 s) and the lead's resume updates the message.
 * Without SLACK_SIGNING_SECRET the route answers 404.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ServiceUnavailableError } from "../../app/lead-service.ts";
import { decodeAction, type SlackActionElement } from "../../domain/message-actions.ts";
import type { OwnerAction } from "../../domain/ownership.ts";
import { errorRef, HttpError, unavailable } from "../errors.ts";
import {
  SLACK_SIGNATURE_HEADER,
  SLACK_TIMESTAMP_HEADER,
  signingKey,
  verifySlackSignature,
} from "../signatures.ts";

/** What Slack's `payload` field holds, as much of it as we read. */
interface InteractionPayload {
  type?: unknown;
  user?: { id?: unknown } | null;
  actions?: unknown;
}

/** Our answer to Slack: nothing to show (the message updates itself), or a line only the clicker sees. */
const answerSchema = {
  type: "object",
  properties: {
    ok: { type: "boolean" },
    response_type: { type: "string", enum: ["ephemeral"] },
    replace_original: { type: "boolean" },
    text: { type: "string", description: "Why nothing happened (already decided, unknown lead or action)." },
    error: { type: "string" },
  },
} as const;

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** An answer only the person who clicked sees, leaving the message as it is. */
function ephemeral(error: string, text: string) {
  return { ok: false, error, response_type: "ephemeral" as const, replace_original: false, text };
}

function parsePayload(raw: unknown): InteractionPayload {
  if (typeof raw !== "string")
    throw new HttpError(400, "invalid_payload", "the form must carry one `payload` field", "payload");
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed))
      return parsed as InteractionPayload;
  } catch {
    // answered below
  }
  throw new HttpError(400, "invalid_payload", "`payload` must be a JSON object", "payload");
}

export default async function slackRoutes(app: FastifyInstance): Promise<void> {
  const secret = app.env.SLACK_SIGNING_SECRET;
  const key = secret ? signingKey(secret) : undefined;

  app.post<{ Body: { payload?: unknown } }>(
    "/slack/interactions",
    {
      onRequest: app.rateLimits.webhook,
      // Before the body is validated or read: an unsigned sender learns nothing about it.
      preValidation: async (request) => {
        if (!key)
          throw new HttpError(
            404,
            "not_configured",
            "slack interactivity not configured: set SLACK_SIGNING_SECRET",
          );
        const check = verifySlackSignature(
          key,
          request.rawBody ?? Buffer.alloc(0),
          header(request, SLACK_SIGNATURE_HEADER),
          header(request, SLACK_TIMESTAMP_HEADER),
        );
        if (!check.ok) throw new HttpError(401, "invalid_signature", check.message, check.field);
      },
      schema: {
        summary: "Slack interactivity: the buttons and menus of LeadGraph's Slack messages",
        description:
          "Slack's Interactivity Request URL. Slack posts `application/x-www-form-urlencoded` with one field, " +
          "`payload` (JSON, type `block_actions`), signed with the app's signing secret: " +
          '`X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:<X-Slack-Request-Timestamp>:<raw body>">`, ' +
          "the timestamp within 5 minutes of ours (else 401). The click is queued as the lead's owner or " +
          "review action (`lead.accept`, `lead.reassign`, `lead.reassign_to`, `lead.decline`, `review.approve`, " +
          "`review.route`, `review.nurture`) and answered 200 at once; the lead's message is then updated in " +
          "place. A lead already decided, unknown, or an action that does not fit answers 200 with an " +
          "ephemeral `text` saying so. 404 when SLACK_SIGNING_SECRET is not set.",
        tags: ["slack"],
        headers: {
          type: "object",
          properties: {
            [SLACK_SIGNATURE_HEADER]: { type: "string", description: "v0=<hex HMAC-SHA256>" },
            [SLACK_TIMESTAMP_HEADER]: { type: "string", description: "Unix seconds" },
          },
        },
        body: {
          type: "object",
          required: ["payload"],
          properties: { payload: { type: "string", description: "The interaction, as JSON" } },
        },
        response: {
          200: answerSchema,
          400: errorRef,
          401: errorRef,
          404: errorRef,
          415: errorRef,
          429: errorRef,
          503: errorRef,
        },
      },
    },
    async (request, reply) => {
      const payload = parsePayload(request.body.payload);
      // Other interactions (shortcuts, modals) are not ours to handle; Slack only needs its 200.
      if (payload.type !== "block_actions") return reply.code(200).send({ ok: true });
      const user = payload.user?.id;
      if (typeof user !== "string" || user === "")
        throw new HttpError(400, "invalid_payload", "`payload.user.id` is required", "payload.user.id");
      const elements = Array.isArray(payload.actions) ? (payload.actions as SlackActionElement[]) : [];
      const decoded = elements.length > 0 ? decodeAction(elements[0] as SlackActionElement) : null;
      if (!decoded)
        return reply.code(200).send(ephemeral("unknown_action", "LeadGraph does not know this button."));
      request.leadId = decoded.leadId;
      const action: OwnerAction = {
        action: decoded.action,
        by: user,
        via: "slack",
        ...("to" in decoded ? { to: decoded.to } : {}),
        ...("reason" in decoded ? { reason: decoded.reason } : {}),
      };
      let result: Awaited<ReturnType<typeof app.leads.act>>;
      try {
        result = await app.leads.act(decoded.leadId, action);
      } catch (err) {
        if (err instanceof ServiceUnavailableError) throw unavailable(err.message);
        throw err;
      }
      if (result.ok) return reply.code(200).send({ ok: true });
      const text =
        result.code === "not_awaiting"
          ? `This lead was already decided; nothing changed. (${result.message})`
          : result.code === "not_found"
            ? "This lead no longer exists in LeadGraph."
            : result.code === "not_holder"
              ? `This lead waits for someone else: ${result.message}.`
              : `That did not work: ${result.message}`;
      request.log.info({ leadId: decoded.leadId, code: result.code }, "slack action refused");
      return reply.code(200).send(ephemeral(result.code, text));
    },
  );
}
