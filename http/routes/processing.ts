/**
 * Pause and resume processing (admins): while paused, intake still stores and enqueues every lead, and no
 * worker in any process starts one; running leads finish. The state is kept with the jobs, so it survives
 * restarts, and the console shows it.
 */
import type { FastifyInstance } from "fastify";
import { errorRef } from "../errors.ts";

const stateSchema = {
  type: "object",
  properties: {
    paused: { type: "boolean" },
    since: { type: "string", description: "When processing was paused." },
    queued: { type: "integer", description: "Jobs waiting, delayed or running." },
  },
} as const;

export default async function processingRoutes(app: FastifyInstance): Promise<void> {
  const { leads } = app;
  const security = [{ bearerAuth: [] }];
  const errors = { 401: errorRef, 403: errorRef, 429: errorRef } as const;
  const withDepth = async (state: { paused: boolean; since?: string }) => ({
    ...state,
    queued: await leads.queueDepth().catch(() => undefined),
  });

  app.get(
    "/processing",
    {
      schema: {
        summary: "Whether workers are processing leads or paused",
        tags: ["admin"],
        security,
        response: { 200: stateSchema, ...errors },
      },
    },
    async () => withDepth(await leads.processing()),
  );

  app.post(
    "/processing/pause",
    {
      schema: {
        summary: "Pause processing everywhere: leads are still accepted and stored, and wait (admin)",
        tags: ["admin"],
        security,
        response: { 200: stateSchema, ...errors },
      },
    },
    async (request) => withDepth(await leads.pause(request.principal?.via)),
  );

  app.post(
    "/processing/resume",
    {
      schema: {
        summary: "Resume processing everywhere; held leads run in arrival order (admin)",
        tags: ["admin"],
        security,
        response: { 200: stateSchema, ...errors },
      },
    },
    async (request) => withDepth(await leads.resume(request.principal?.via)),
  );
}
