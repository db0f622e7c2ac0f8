/** Liveness and readiness. Ready means the lead store answers: without it no lead can be accepted. */
import type { FastifyInstance } from "fastify";
import { errorRef, RETRY_AFTER_SECONDS } from "../errors.ts";

export default async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    "/health",
    {
      schema: {
        summary: "Liveness: the process serves requests",
        tags: ["operations"],
        response: { 200: { type: "object", properties: { status: { type: "string", enum: ["ok"] } } } },
      },
    },
    async () => ({ status: "ok" as const }),
  );

  app.get(
    "/ready",
    {
      schema: {
        summary: "Readiness: the lead store is reachable",
        tags: ["operations"],
        response: {
          200: {
            type: "object",
            properties: {
              status: { type: "string", enum: ["ready"] },
              profile: { type: "string" },
              store: { type: "string" },
            },
          },
          503: errorRef,
        },
      },
    },
    async (_request, reply) => {
      const { ready, profile, store } = await app.leads.ready();
      if (ready) return { status: "ready" as const, profile, store };
      return reply
        .code(503)
        .header("retry-after", String(RETRY_AFTER_SECONDS))
        .send({ error: "not_ready", message: "the lead store is unreachable" });
    },
  );
}
