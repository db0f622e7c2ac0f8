/**
 * `POST /slack/interactions`: Slack's request when someone clicks a button or picks an option in a LeadGraph
 * message. The signature (`v0`, SLACK_SIGNING_SECRET) is checked on the raw bytes before the payload is read;
 * the click becomes an owner or review action (`LeadService.act`, via "slack", by the clicking user's id),
 * which is queued: Slack is answered at once (it allows 3 s) and the lead's resume updates the message. A
 * click that changes nothing (decided already, not the clicker's lead) is told so to the clicker alone,
 * through the click's `response_url`.
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
  response_url?: unknown;
}

/** How long an answer posted to the clicker's `response_url` may take before it is given up. */
const RESPONSE_URL_TIMEOUT_MS = 5_000;

/**
 * Where the line for the clicker may be posted: the payload's `response_url` when it is Slack's (https on
 * hooks.slack.com), or on SLACK_API_URL's origin when that is set (a proxy, a test's loopback fake); never
 * anywhere else, though the payload is signed.
 */
function responseUrlOf(payload: InteractionPayload, slackApiUrl: string | undefined): URL | undefined {
  if (typeof payload.response_url !== "string") return undefined;
  let url: URL;
  try {
    url = new URL(payload.response_url);
  } catch {
    return undefined;
  }
  const allowed = slackApiUrl ? new URL(slackApiUrl).origin : "https://hooks.slack.com";
  return url.origin === allowed ? url : undefined;
}

/**
 * Slack shows nothing of our answer to a button click: the line reaches the clicker as an ephemeral message
 * posted to the click's `response_url`, in the background (the 200 has gone). Failures are logged, without
 * the URL (it carries a token).
 */
async function tellClicker(url: URL, text: string, log: FastifyRequest["log"]): Promise<void> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ response_type: "ephemeral", replace_original: false, text }),
      signal: AbortSignal.timeout(RESPONSE_URL_TIMEOUT_MS),
    });
    if (!res.ok) log.warn({ status: res.status }, "slack response_url refused the line for the clicker");
  } catch (err) {
    log.warn({ err: err instanceof Error ? err.message : String(err) }, "slack response_url unreachable");
  }
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
          "place. A lead already decided, unknown, not the clicker's to decide, or an action that does not " +
          "fit answers 200 with an ephemeral `text` saying so, which is also posted to the click's " +
          "`response_url` (Slack shows the clicker nothing of the answer itself). 404 when " +
          "SLACK_SIGNING_SECRET is not set.",
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
      const responseUrl = app.env.SLACK_BOT_TOKEN ? responseUrlOf(payload, app.env.SLACK_API_URL) : undefined;
      if (responseUrl) void tellClicker(responseUrl, text, request.log);
      return reply.code(200).send(ephemeral(result.code, text));
    },
  );
}
