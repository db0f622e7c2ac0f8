/**
 * Admin API (Bearer token): look up a lead and why it failed, list leads by status, retry one or all
 * failed leads (a retry resumes from the lead's checkpoint), and preview routing without side effects.
 */
import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { routeLabel } from "../../domain/labels.ts";
import { normalizePayload } from "../../domain/normalize/lead.ts";
import type { LeadSource } from "../../domain/types.ts";
import { previewLead } from "../../graph/build.ts";
import {
  InvalidCursorError,
  LEAD_STATUSES,
  type LeadRecord,
  type LeadStatus,
  MAX_LIST_LIMIT,
} from "../../store/lead-store.ts";
import { errorRef, HttpError, unavailable } from "../errors.ts";

const timelineEntrySchema = {
  type: "object",
  properties: {
    node: { type: "string" },
    startedAt: { type: "string" },
    endedAt: { type: "string" },
    durationMs: { type: "number" },
    status: { type: "string", enum: ["ok", "error"] },
    error: { type: "string" },
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
    properties: { node: { type: "string" }, message: { type: "string" }, at: { type: "string" } },
  },
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
  properties: { ...leadSummaryProperties, timeline: { type: "array", items: timelineEntrySchema } },
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

/** The admin view of a lead: no raw payload (it holds personal data the admin API does not need to repeat). */
function leadView(lead: LeadRecord, withTimeline: boolean) {
  return {
    leadId: lead.leadId,
    status: lead.status,
    source: lead.source,
    receivedAt: lead.receivedAt,
    updatedAt: lead.updatedAt,
    attempts: lead.attempts,
    lastError: lead.lastError,
    result: lead.result,
    ...(withTimeline ? { timeline: lead.timeline } : {}),
  };
}

export default async function adminRoutes(app: FastifyInstance): Promise<void> {
  const { store, queue, deps } = app.runtime;
  app.addHook("onRequest", app.requireAdmin);

  const security = [{ bearerAuth: [] }];
  const authErrors = { 401: errorRef, 403: errorRef } as const;

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
      const lead = await store.getLead(request.params.id);
      if (!lead)
        return reply
          .code(404)
          .send({ error: "lead_not_found", message: "no lead with this id", field: "id" });
      return leadView(lead, true);
    },
  );

  app.get<{ Querystring: { status?: LeadStatus; limit?: number; cursor?: string } }>(
    "/leads",
    {
      schema: {
        summary: "Leads, newest first, optionally by status; paginated with `nextCursor`",
        tags: ["admin"],
        security,
        querystring: {
          type: "object",
          properties: {
            status: { type: "string", enum: LEAD_STATUSES },
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
      const { status, limit, cursor } = request.query;
      try {
        const page = await store.listLeads({
          ...(status ? { status } : {}),
          ...(limit !== undefined ? { limit } : {}),
          ...(cursor ? { cursor } : {}),
        });
        return {
          leads: page.leads.map((lead) => leadView(lead, false)),
          ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
        };
      } catch (err) {
        if (err instanceof InvalidCursorError)
          throw new HttpError(400, "invalid_cursor", err.message, "cursor");
        throw err;
      }
    },
  );

  /** Failed → queued, and its job back in the queue; the run resumes at the node that failed. */
  async function retry(lead: LeadRecord): Promise<void> {
    await store.markQueued(lead.leadId);
    try {
      await queue.requeue(lead.leadId);
    } catch (err) {
      // Back to failed rather than queued without a job, so the admin can retry again.
      await store
        .markFailed(lead.leadId, lead.lastError ?? { message: "retry could not be queued" })
        .catch(() => undefined);
      app.log.error({ leadId: lead.leadId, err: String(err) }, "requeue failed");
      throw unavailable("the queue is unreachable; retry later");
    }
  }

  app.post<{ Params: { id: string } }>(
    "/leads/:id/retry",
    {
      schema: {
        summary: "Retry a failed lead from the node that failed",
        tags: ["admin"],
        security,
        params: idParams,
        response: { 202: queuedSchema, 404: errorRef, 409: errorRef, 503: errorRef, ...authErrors },
      },
    },
    async (request, reply) => {
      const lead = await store.getLead(request.params.id);
      if (!lead)
        return reply
          .code(404)
          .send({ error: "lead_not_found", message: "no lead with this id", field: "id" });
      if (lead.status !== "failed")
        return reply
          .code(409)
          .send({ error: "not_failed", message: `lead is ${lead.status}; only failed leads can be retried` });
      await retry(lead);
      request.log.child({ leadId: lead.leadId }).info({ node: lead.lastError?.node }, "lead retry queued");
      return reply.code(202).send({ leadId: lead.leadId, status: "queued" });
    },
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
      const limit = request.body?.limit ?? 1000;
      const leadIds: string[] = [];
      let cursor: string | undefined;
      // Cursor paging stays valid while retried leads leave the failed set: positions are (receivedAt, id).
      do {
        const page = await store.listLeads({
          status: "failed",
          limit: Math.min(MAX_LIST_LIMIT, limit - leadIds.length),
          ...(cursor ? { cursor } : {}),
        });
        for (const lead of page.leads) {
          await retry(lead);
          leadIds.push(lead.leadId);
        }
        cursor = page.nextCursor;
      } while (cursor && leadIds.length < limit);
      request.log.info({ retried: leadIds.length }, "failed leads retried");
      return reply.code(202).send({ retried: leadIds.length, leadIds });
    },
  );

  app.post<{ Querystring: { source?: "generic" | "hubspot" }; Body: unknown }>(
    "/routing/preview",
    {
      schema: {
        summary:
          "Which owner a lead would get, and why (dry run: no counters move, nothing is sent or stored)",
        tags: ["admin"],
        security,
        querystring: {
          type: "object",
          properties: { source: { type: "string", enum: ["generic", "hubspot"] } },
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
      const parsed = normalizePayload(request.body, forced);
      if (!parsed.ok) throw new HttpError(422, "invalid_lead", parsed.message, parsed.field);
      const state = await previewLead(deps, {
        leadId: `preview-${randomUUID()}`,
        receivedAt: new Date().toISOString(),
        raw: request.body,
        ...(forced ? { source: forced } : {}),
      });
      const { route, score } = state;
      return {
        owner: routeLabel(route),
        ownerId: route?.ownerId,
        queue: route?.queue,
        pool: route?.pool,
        rule: route?.ruleName,
        kind: route?.kind,
        explanation: route?.explanation ?? [],
        path: state.path,
        score: score
          ? { value: score.value, tier: score.tier, ruleScore: score.ruleScore, reasons: score.reasons }
          : undefined,
        warnings: state.warnings,
      };
    },
  );
}
