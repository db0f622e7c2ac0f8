/**
 * The console's sign-in: an admin or viewer token exchanged for a session cookie (httpOnly, SameSite=Strict,
 * signed; see http/admin-auth.ts), what the console knows about its session, and sign-out.
 */
import type { FastifyInstance } from "fastify";
import { errorRef, HttpError } from "../errors.ts";

const sessionSchema = {
  type: "object",
  properties: {
    role: { type: "string", enum: ["admin", "viewer"] },
    csrfToken: { type: "string", description: "Send back as X-CSRF-Token on state-changing requests." },
    expiresAt: { type: "string" },
  },
} as const;

export default async function sessionRoutes(app: FastifyInstance): Promise<void> {
  // Sign-in is a token check like the admin API's: the same rate limit and the same lockout after failures.
  app.addHook("onRequest", app.rateLimits.admin);
  app.addHook("onSend", async (_request, reply) => {
    reply.header("cache-control", "no-store");
  });

  app.post<{ Body: { token: string } }>(
    "/session",
    {
      schema: {
        summary: "Sign in to the console with an admin or viewer token; sets the session cookie",
        tags: ["console"],
        body: {
          type: "object",
          required: ["token"],
          properties: { token: { type: "string", minLength: 1, maxLength: 500 } },
        },
        response: { 200: sessionSchema, 401: errorRef, 403: errorRef, 429: errorRef },
      },
    },
    async (request, reply) => {
      // Login CSRF: another site must not sign a browser in under its own token.
      const origin = request.headers.origin;
      const own = app.env.PUBLIC_URL
        ? new URL(app.env.PUBLIC_URL).origin
        : `${request.protocol}://${request.host}`;
      if (origin !== undefined && origin !== own)
        throw new HttpError(403, "csrf_rejected", "cross-origin sign-in refused", "origin");
      await app.adminAuthFailures.check(request);
      const token = request.body.token.trim();
      const role = app.roleOfToken(token);
      if (!role) {
        await app.adminAuthFailures.count(request);
        request.log.warn({}, "console sign-in refused");
        throw new HttpError(401, "unauthorized", "this token is not an admin or viewer token", "token");
      }
      request.log.info({ role }, "console sign-in");
      return app.startSession(reply, request, token, role);
    },
  );

  app.get(
    "/session",
    {
      schema: {
        summary: "The console session: role, anti-CSRF token, expiry",
        tags: ["console"],
        response: { 200: sessionSchema, 401: errorRef },
      },
    },
    async (request) => {
      const session = app.sessionOf(request);
      if (!session) throw new HttpError(401, "unauthorized", "not signed in", "cookie");
      const { fingerprint: _, ...info } = session;
      return info;
    },
  );

  app.delete(
    "/session",
    {
      schema: {
        summary: "Sign out: the session cookie is cleared",
        tags: ["console"],
        response: { 204: { type: "null" }, 403: errorRef },
      },
    },
    async (request, reply) => {
      const session = app.sessionOf(request);
      if (session) app.checkCsrf(request, session.csrfToken);
      app.endSession(reply);
      return reply.code(204).send();
    },
  );
}
