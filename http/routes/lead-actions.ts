/**
 * Owner and review actions without Slack (docs/architecture.md, "The owner loop"): `POST
 * /admin/leads/:id/actions` resumes a lead that waits for its owner (accept, reassign, decline) or a reviewer
 * (approve, route, nurture). 202 once the resume is queued; the decision itself runs on the queue, and the
 * first action or timer of a wait decides it.
 */
import type { FastifyInstance } from "fastify";
import { ALL_ACTIONS, DECLINE_REASONS, type OwnerAction } from "../../app/lead-service.ts";
import { errorRef, orUnavailable } from "../errors.ts";

interface ActionBody {
  action: OwnerAction["action"];
  by?: string;
  reason?: string;
  to?: string;
}

const actionBodySchema = {
  type: "object",
  required: ["action"],
  additionalProperties: false,
  properties: {
    action: {
      type: "string",
      enum: ALL_ACTIONS,
      description:
        "accept, reassign, decline (the lead waits for its owner); approve, route, nurture (it waits for review)",
    },
    by: {
      type: "string",
      minLength: 1,
      maxLength: 200,
      description: "Who acted (shown on the message and the lead's hand-offs); default: the admin session.",
    },
    reason: {
      type: "string",
      enum: DECLINE_REASONS,
      description:
        "decline: wrong_territory (re-routed past the decliner), not_a_buyer (nurture), spam (disqualified), existing_customer (account owner)",
    },
    to: {
      type: "string",
      minLength: 1,
      maxLength: 200,
      description:
        "reassign or route: the owner id (routing.json) to give the lead to; reassign without it: the next in the pool",
    },
  },
} as const;

const queuedActionSchema = {
  type: "object",
  properties: {
    leadId: { type: "string" },
    action: { type: "string" },
    status: { type: "string", enum: ["queued"] },
  },
} as const;

export default async function leadActionRoutes(app: FastifyInstance): Promise<void> {
  const { leads } = app;
  app.post<{ Params: { id: string }; Body: ActionBody }>(
    "/leads/:id/actions",
    {
      schema: {
        summary: "Act on a lead that waits for its owner or a reviewer (the Slack buttons without Slack)",
        tags: ["admin"],
        security: [{ bearerAuth: [] }],
        params: {
          type: "object",
          required: ["id"],
          properties: { id: { type: "string", minLength: 1, maxLength: 200 } },
        },
        body: actionBodySchema,
        response: {
          202: queuedActionSchema,
          400: errorRef,
          401: errorRef,
          403: errorRef,
          404: errorRef,
          409: errorRef,
          422: errorRef,
          429: errorRef,
          503: errorRef,
        },
      },
    },
    async (request, reply) => {
      const { action, reason, to } = request.body;
      const by = request.body.by ?? `admin:${request.principal?.via ?? "api"}`;
      const result = await orUnavailable(
        leads.act(request.params.id, {
          action,
          by,
          via: "admin",
          ...(reason !== undefined ? { reason } : {}),
          ...(to !== undefined ? { to } : {}),
        }),
      );
      if (result.ok) return reply.code(202).send({ leadId: request.params.id, action, status: "queued" });
      if (result.code === "not_found")
        return reply.code(404).send({ error: "lead_not_found", message: result.message, field: "id" });
      if (result.code === "not_awaiting")
        return reply.code(409).send({ error: "not_awaiting", message: result.message });
      return reply.code(422).send({
        error: "invalid_action",
        message: result.message,
        ...(result.field ? { field: result.field } : {}),
      });
    },
  );
}
