/**
 * Bearer-token auth for the admin API. Tokens come from ADMIN_TOKENS; with none configured the admin API
 * is closed (403) rather than open. Every configured token is compared, in constant time, on every request.
 * An address that failed ADMIN_AUTH_FAILURES_PER_MINUTE times in a minute gets 429 for the rest of that
 * minute, right token or not: otherwise the one right guess among the 429s would stand out.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { HttpError } from "./errors.ts";
import { constantTimeEqual } from "./signatures.ts";

declare module "fastify" {
  interface FastifyInstance {
    /**
     * onRequest hook for every admin route: counts the request against the client's admin rate limit
     * (429), then throws 401/403 unless it carries a configured token.
     */
    requireAdmin(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  }
}

export function tokenMatches(tokens: readonly string[], presented: string): boolean {
  // No early exit: the time taken does not say which token, if any, was close.
  let match = false;
  for (const token of tokens) match = constantTimeEqual(token, presented) || match;
  return match;
}

async function adminAuth(app: FastifyInstance): Promise<void> {
  const tokens = app.env.ADMIN_TOKENS;
  app.decorate("requireAdmin", async (request: FastifyRequest, reply: FastifyReply) => {
    // Counted before anything else: requests with a wrong token or none count too.
    await app.rateLimits.admin.call(app, request, reply);
    if (tokens.length === 0)
      throw new HttpError(403, "admin_disabled", "the admin API is closed: no ADMIN_TOKENS are configured");
    await app.adminAuthFailures.check(request);
    const header = request.headers.authorization;
    const presented = header?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
    if (presented && tokenMatches(tokens, presented)) return;
    await app.adminAuthFailures.count(request);
    throw new HttpError(401, "unauthorized", "a valid admin bearer token is required", "authorization", {
      "www-authenticate": 'Bearer realm="leadgraph-admin"',
    });
  });
}

export default fp(adminAuth, {
  name: "leadgraph-admin-auth",
  fastify: "5.x",
  dependencies: ["leadgraph-service", "leadgraph-rate-limit"],
});
