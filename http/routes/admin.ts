/**
 * Admin API (bearer token or console session; http/admin-auth.ts): look up a lead and why it failed,
 * search and filter leads, retry one or all failed leads (a retry resumes from the lead's checkpoint), and
 * preview routing without side effects. Processing, live events, reports and routing live beside it.
 *
 * Over 300 lines because it is one route plugin whose schemas are the admin API's OpenAPI document; each route is short.
 */
import type { FastifyInstance } from "fastify";
import {
  InvalidCursorError,
  LEAD_STATUSES,
  type LeadRecord,
  type ListLeadsOptions,
  MAX_LIST_LIMIT,
} from "../../app/lead-service.ts";
import type { LeadSource } from "../../domain/types.ts";
import type { Role } from "../admin-auth.ts";
import { errorRef, HttpError, orUnavailable, refused } from "../errors.ts";
import eventsRoutes from "./events.ts";
import leadActionRoutes from "./lead-actions.ts";
import processingRoutes from "./processing.ts";
import reportsRoutes from "./reports.ts";

const timelineEntrySchema = {
  type: "object",
  properties: {
    node: { type: "string" },
    startedAt: { type: "string" },
    endedAt: { type: "string" },
    durationMs: { type: "number" },
    status: { type: "string", enum: ["ok", "error"] },
    error: { type: "string" },
    detail: { type: "string", description: "What the step decided: how a wait ended, a hand-off and why." },
  },
} as const;

const leadSummaryProperties = {
  leadId: { type: "string" },
  status: { type: "string", enum: LEAD_STATUSES },
  source: { type: "string" },
  receivedAt: { type: "string" },
  updatedAt: { type: "string" },
  attempts: { type: "integer" },
  lastError: {
    type: "object",
    description: "Why the last run failed (failed and retrying leads; cleared when the lead completes).",
    properties: {
      node: { type: "string" },
      message: { type: "string" },
      cause: { type: "string", description: "The innermost error under the message (the vendor's answer)." },
      at: { type: "string" },
    },
  },
  nextAttemptAt: {
    type: "string",
    description: "A retrying lead: when the queue runs it again (ISO time).",
  },
  company: { type: "string" },
  domain: { type: "string" },
  email: { type: "string", description: "Masked (j***@acme.com) for viewers." },
  channel: { type: "string" },
  ownerId: { type: "string" },
  path: { type: "string" },
  tier: { type: "string" },
  notifiedAt: { type: "string" },
  result: {
    type: "object",
    additionalProperties: true,
    description:
      "Score, tier, reasons, owner, rule, route explanation, path, warnings, notifications, CRM ids.",
  },
} as const;

const leadSummarySchema = { type: "object", properties: leadSummaryProperties } as const;
const leadDetailSchema = {
  type: "object",
  properties: {
    ...leadSummaryProperties,
    timeline: { type: "array", items: timelineEntrySchema },
    ownership: {
      type: "object",
      description:
        "Who holds the lead after the message: awaiting (with its round, since when and the SLA deadline), accepted or declined, and every hand-off with how long the previous holder had it.",
      properties: {
        ownerId: { type: ["string", "null"] },
        status: { type: "string", enum: ["awaiting", "accepted", "declined", "reassigned"] },
        decidedBy: { type: "string" },
        decidedAt: { type: "string" },
        awaitingSince: { type: "string" },
        deadline: { type: "string" },
        round: { type: "integer" },
        waitingFor: { type: "string", enum: ["owner", "review"] },
        handoffs: { type: "array", items: { type: "object", additionalProperties: true } },
      },
    },
    message: {
      type: "object",
      description:
        "The owner's Slack message (Block Kit) as it was built for them; absent when none was sent.",
      properties: {
        text: { type: "string" },
        blocks: { type: "array", items: { type: "object", additionalProperties: true } },
      },
    },
  },
} as const;

const queuedSchema = {
  type: "object",
  properties: { leadId: { type: "string" }, status: { type: "string", enum: ["queued"] } },
} as const;

const idParams = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", minLength: 1, maxLength: 200 } },
} as const;

/** `jane.doe@acme.com` → `j***@acme.com`: enough to tell leads apart, not enough to write to them. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf("@");
  return at <= 0 ? "***" : `${email.slice(0, 1)}***${email.slice(at)}`;
}

/**
 * The admin view of a lead: no raw payload (it holds personal data the admin API does not need to repeat);
 * no replay inputs; the email only to admins, masked for viewers.
 */
function leadView(lead: LeadRecord, withTimeline: boolean, role: Role | undefined) {
  const f = lead.facets;
  const { replay: _replay, ...result } = lead.result ?? {};
  return {
    leadId: lead.leadId,
    status: lead.status,
    source: lead.source,
    receivedAt: lead.receivedAt,
    updatedAt: lead.updatedAt,
    attempts: lead.attempts,
    lastError: lead.lastError,
    ...(lead.nextAttemptAt ? { nextAttemptAt: lead.nextAttemptAt } : {}),
    company: f.company,
    domain: f.domain ?? f.emailDomain,
    email: f.email === undefined ? undefined : role === "admin" ? f.email : maskEmail(f.email),
    channel: f.channel,
    ownerId: f.ownerId,
    path: f.path,
    tier: f.tier,
    notifiedAt: f.notifiedAt,
    ...(lead.result ? { result } : {}),
    ...(withTimeline && result.ownership ? { ownership: result.ownership } : {}),
    ...(withTimeline ? { timeline: lead.timeline } : {}),
  };
}

export default async function adminRoutes(app: FastifyInstance): Promise<void> {
  const { leads } = app;
  app.addHook("onRequest", app.requireAdmin);

  const security = [{ bearerAuth: [] }];
  const authErrors = { 401: errorRef, 403: errorRef, 429: errorRef } as const;

  app.get<{ Params: { id: string } }>(
    "/leads/:id",
    {
      schema: {
        summary: "One lead: status, score and reasons, owner and route explanation, timeline, last error",
        tags: ["admin"],
        security,
        params: idParams,
        response: { 200: leadDetailSchema, 404: errorRef, ...authErrors },
      },
    },
    async (request, reply) => {
      const lead = await leads.getLead(request.params.id);
      if (!lead)
        return reply
          .code(404)
          .send({ error: "lead_not_found", message: "no lead with this id", field: "id" });
      const message = await leads.ownerMessage(lead.leadId).catch((err: unknown) => {
        request.log.warn({ leadId: lead.leadId, err: String(err) }, "owner message not rebuilt");
        return null;
      });
      return { ...leadView(lead, true, request.principal?.role), ...(message ? { message } : {}) };
    },
  );

  app.get<{ Querystring: LeadQuery }>(
    "/leads",
    {
      schema: {
        summary:
          "Leads, newest first: search (`q`: email, domain, company word or owner) and filters; paginated with `nextCursor`",
        tags: ["admin"],
        security,
        querystring: {
          type: "object",
          properties: {
            q: {
              type: "string",
              maxLength: 200,
              description: "Words that must all match (email, domain, company word, owner id).",
            },
            status: { type: "string", enum: LEAD_STATUSES },
            path: { type: "string", enum: ["qualified", "review", "nurture"] },
            owner: { type: "string", maxLength: 100 },
            source: {
              type: "string",
              maxLength: 100,
              description: "How the lead arrived, e.g. generic or hubspot-workflow.",
            },
            channel: {
              type: "string",
              maxLength: 100,
              description: "The lead's channel, e.g. web or partner.",
            },
            from: { type: "string", format: "date-time", description: "Received at or after." },
            to: { type: "string", format: "date-time", description: "Received before." },
            limit: { type: "integer", minimum: 1, maximum: MAX_LIST_LIMIT, default: 50 },
            cursor: { type: "string", maxLength: 500 },
          },
        },
        response: {
          200: {
            type: "object",
            properties: {
              leads: { type: "array", items: leadSummarySchema },
              nextCursor: { type: "string" },
            },
          },
          400: errorRef,
          ...authErrors,
        },
      },
    },
    async (request) => {
      const { status, limit, cursor, q, path, owner, source, channel, from, to } = request.query;
      try {
        const page = await leads.listLeads({
          ...(status ? { status } : {}),
          ...(limit !== undefined ? { limit } : {}),
          ...(cursor ? { cursor } : {}),
          ...(q?.trim() ? { q } : {}),
          ...(path ? { path } : {}),
          ...(owner ? { ownerId: owner } : {}),
          ...(source ? { source } : {}),
          ...(channel ? { channel } : {}),
          ...(from ? { from } : {}),
          ...(to ? { to } : {}),
        });
        return {
          leads: page.leads.map((lead) => leadView(lead, false, request.principal?.role)),
          ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
        };
      } catch (err) {
        if (err instanceof InvalidCursorError)
          throw new HttpError(400, "invalid_cursor", err.message, "cursor");
        throw err;
      }
    },
  );

  /** The service's "try later" as the 503 a client retries. */

  app.post<{ Params: { id: string } }>(
    "/leads/:id/retry",
    {
      schema: {
        summary:
          "Retry a failed or retrying lead now, or one stranded queued/running without a live job, from the node that failed",
        tags: ["admin"],
        security,
        params: idParams,
        response: { 202: queuedSchema, 404: errorRef, 409: errorRef, 503: errorRef, ...authErrors },
      },
    },
    async (request, reply) => {
      const result = await orUnavailable(leads.retry(request.params.id));
      if (!result.ok && result.reason === "not_found")
        return reply
          .code(404)
          .send({ error: "lead_not_found", message: "no lead with this id", field: "id" });
      if (!result.ok && result.reason === "in_progress")
        return reply.code(409).send({
          error: "in_progress",
          message: `lead is ${result.status} and its job is live; it needs no retry`,
        });
      if (!result.ok && result.reason === "awaiting")
        return reply.code(409).send({
          error: "awaiting",
          message:
            "lead is awaiting: it was delivered and waits for its owner's (or a reviewer's) decision or its SLA timer; act on it with POST /admin/leads/:id/actions",
        });
      if (!result.ok)
        return reply.code(409).send({
          error: "not_failed",
          message: `lead is ${result.status}; only failed, retrying or stranded leads can be retried`,
        });
      request.leadId = result.leadId;
      return reply.code(202).send({ leadId: result.leadId, status: "queued" });
    },
  );

  app.delete<{ Params: { id: string } }>(
    "/leads/:id",
    {
      schema: {
        summary:
          "Delete a finished (completed or failed) lead and everything kept for it: record, timeline, ledger, checkpoints, job",
        description:
          "How a failed lead that will not be retried is handled; completed leads go by themselves after RETENTION_COMPLETED_DAYS. Unfinished leads (queued, running, retrying, ...) cannot be deleted.",
        tags: ["admin"],
        security,
        params: idParams,
        response: { 204: { type: "null" }, 404: errorRef, 409: errorRef, 503: errorRef, ...authErrors },
      },
    },
    async (request, reply) => {
      const result = await orUnavailable(leads.deleteLead(request.params.id));
      if (!result.ok && result.reason === "not_found")
        return reply
          .code(404)
          .send({ error: "lead_not_found", message: "no lead with this id", field: "id" });
      if (!result.ok)
        return reply.code(409).send({
          error: "unfinished",
          message: `lead is ${result.status}; only completed or failed leads can be deleted`,
        });
      request.leadId = request.params.id;
      return reply.code(204).send();
    },
  );

  app.post(
    "/retention/sweep",
    {
      schema: {
        summary: "Run the retention sweep now: delete completed leads unchanged for RETENTION_COMPLETED_DAYS",
        tags: ["admin"],
        security,
        response: {
          200: {
            type: "object",
            properties: {
              deleted: { type: "integer", description: "Completed leads deleted." },
              before: { type: "string", description: "The cutoff (ISO); absent when retention is off." },
            },
          },
          503: errorRef,
          ...authErrors,
        },
      },
    },
    async () => orUnavailable(leads.sweepRetention()),
  );

  app.post<{ Body: { limit?: number } | undefined }>(
    "/leads/retry-failed",
    {
      schema: {
        summary: "Retry every failed lead (up to `limit`, default 1000)",
        tags: ["admin"],
        security,
        body: {
          type: ["object", "null"],
          properties: { limit: { type: "integer", minimum: 1, maximum: 10_000 } },
        },
        response: {
          202: {
            type: "object",
            properties: {
              retried: { type: "integer" },
              leadIds: { type: "array", items: { type: "string" } },
            },
          },
          503: errorRef,
          ...authErrors,
        },
      },
    },
    async (request, reply) => {
      const leadIds = await orUnavailable(leads.retryFailed(request.body?.limit ?? 1000));
      return reply.code(202).send({ retried: leadIds.length, leadIds });
    },
  );

  app.post<{ Querystring: { source?: "generic" | "hubspot"; llm?: boolean }; Body: unknown }>(
    "/routing/preview",
    {
      // A dry run: viewers may use the console's simulator.
      config: { readOnly: true },
      schema: {
        summary:
          "Which owner a lead would get, and why (dry run: no counter moves, nothing is sent or stored, no LLM call unless `llm=true`)",
        tags: ["admin"],
        security,
        querystring: {
          type: "object",
          properties: {
            source: { type: "string", enum: ["generic", "hubspot"] },
            llm: {
              type: "boolean",
              default: false,
              description: "Consult the configured LLM for a grey-zone score, as a real run would.",
            },
          },
        },
        body: { type: ["object", "array"], description: "A lead payload, as for POST /webhooks/lead." },
        response: {
          200: {
            type: "object",
            properties: {
              owner: { type: "string", description: "Owner id, pool:<id> or queue:<id>." },
              ownerId: { type: "string" },
              queue: { type: "string" },
              pool: { type: "string" },
              rule: { type: "string" },
              kind: { type: "string" },
              explanation: { type: "array", items: { type: "string" } },
              path: { type: "string" },
              score: {
                type: "object",
                properties: {
                  value: { type: "number" },
                  tier: { type: "string" },
                  ruleScore: { type: "number" },
                  reasons: { type: "array", items: { type: "object", additionalProperties: true } },
                },
              },
              warnings: { type: "array", items: { type: "object", additionalProperties: true } },
            },
          },
          422: errorRef,
          ...authErrors,
        },
      },
    },
    async (request) => {
      const forced: LeadSource | undefined =
        request.query.source === "hubspot"
          ? "hubspot-workflow"
          : request.query.source === "generic"
            ? "generic"
            : undefined;
      const preview = await leads.preview(request.body, forced, { llm: request.query.llm === true });
      if (!preview.ok) throw refused(preview);
      const { ok: _ok, ...view } = preview;
      return view;
    },
  );

  app.post<{ Params: { id: string } }>(
    "/leads/:id/preview",
    {
      config: { readOnly: true },
      schema: {
        summary: "The routing preview of a stored lead, as it would route now (dry run)",
        tags: ["admin"],
        security,
        params: idParams,
        response: {
          200: { type: "object", additionalProperties: true },
          404: errorRef,
          422: errorRef,
          ...authErrors,
        },
      },
    },
    async (request, reply) => {
      const lead = await leads.getLead(request.params.id);
      if (!lead)
        return reply
          .code(404)
          .send({ error: "lead_not_found", message: "no lead with this id", field: "id" });
      const source = (["generic", "hubspot-workflow", "hubspot-contact"] as const).find(
        (s) => s === lead.source,
      );
      const preview = await leads.preview(lead.payload, source);
      if (!preview.ok) throw new HttpError(422, "invalid_lead", preview.message, preview.field);
      const { ok: _ok, ...view } = preview;
      return view;
    },
  );

  await app.register(leadActionRoutes);
  await app.register(processingRoutes);
  await app.register(eventsRoutes);
  await app.register(reportsRoutes);
}

/** The list's query string: ListLeadsOptions, with `owner` for `ownerId`. */
type LeadQuery = Omit<ListLeadsOptions, "ownerId"> & { owner?: string };
