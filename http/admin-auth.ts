/**
 * Who may use the admin API and the console, and what they may do.
 *
 * - Credentials: a bearer token (scripts, the events stream, reports) or the console's session cookie, which
 *   a token is exchanged for at sign-in (http/routes/session.ts). Tokens come from ADMIN_TOKENS (role
 *   `admin`) and VIEWER_TOKENS (role `viewer`); with none configured the admin API is closed (403).
 * - Roles: viewers read; every state-changing request (any method but GET/HEAD/OPTIONS) needs `admin`,
 *   unless its route says `config: { readOnly: true }` (a dry run such as the routing preview).
 * - CSRF: the cookie is httpOnly and SameSite=Strict, and a state-changing request made with it must also
 *   carry the session's anti-CSRF token in `X-CSRF-Token` and, when the browser sends one, a same-origin
 *   `Origin`. Bearer requests carry no ambient credential, so they need neither.
 *
 * - Limits: every admin request counts against the client's admin rate limit (429); an address that failed
 *   ADMIN_AUTH_FAILURES_PER_MINUTE times in a minute (a wrong token, or a bad session cookie) gets 429 for
 *   the rest of that minute, right token or not: otherwise the one right guess among the 429s would stand
 *   out. A request that presents no credential at all is a 401 that does not count as a guess (a console
 *   whose session ended keeps reconnecting its live view).
 *
 * Every configured token is compared, in constant time, on every request.
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import cookie from "@fastify/cookie";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { HttpError } from "./errors.ts";
import { constantTimeEqual } from "./signatures.ts";

export type Role = "admin" | "viewer";

/** Who made a request, once the admin gate let it through. */
export interface Principal {
  role: Role;
  via: "bearer" | "session";
}

/** What the console learns about its session. */
export interface SessionInfo {
  role: Role;
  /** Send back as `X-CSRF-Token` on every state-changing request. */
  csrfToken: string;
  /** ISO timestamp. */
  expiresAt: string;
}

export const SESSION_COOKIE = "lg_session";
export const CSRF_HEADER = "x-csrf-token";

declare module "fastify" {
  interface FastifyInstance {
    /**
     * onRequest hook of the admin API: counts the request against the client's admin rate limit (429), then
     * 401/403 unless the request may do what it asks (see above).
     */
    requireAdmin(request: FastifyRequest, reply: FastifyReply): Promise<void>;
    /** The role a token grants, or null. */
    roleOfToken(token: string): Role | null;
    /** Sets the session cookie for a role and returns what the console needs to know. */
    startSession(reply: FastifyReply, request: FastifyRequest, token: string, role: Role): SessionInfo;
    /** The request's valid session, or null. */
    sessionOf(request: FastifyRequest): (SessionInfo & { fingerprint: string }) | null;
    endSession(reply: FastifyReply): void;
    /** Throws 403 unless a cookie-authenticated state change carries the session's token and our origin. */
    checkCsrf(request: FastifyRequest, csrfToken: string): void;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** A POST that changes nothing (a dry run): viewers may call it. */
    readOnly?: boolean;
  }
}

export function tokenMatches(tokens: readonly string[], presented: string): boolean {
  // No early exit: the time taken does not say which token, if any, was close.
  let match = false;
  for (const token of tokens) match = constantTimeEqual(token, presented) || match;
  return match;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** A short, one-way name for a token: a session remembers which token started it, never the token. */
function fingerprint(token: string): string {
  return createHash("sha256").update(token).digest("hex").slice(0, 16);
}

/** Cookie payload: role, expiry (epoch ms), anti-CSRF token, token fingerprint. */
interface SessionPayload {
  r: Role;
  e: number;
  c: string;
  k: string;
}

function parsePayload(text: string): SessionPayload | null {
  try {
    const value = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as Partial<SessionPayload>;
    if ((value.r === "admin" || value.r === "viewer") && typeof value.e === "number")
      if (typeof value.c === "string" && typeof value.k === "string") return value as SessionPayload;
  } catch {
    // falls through: not ours
  }
  return null;
}

async function adminAuth(app: FastifyInstance): Promise<void> {
  const { ADMIN_TOKENS: adminTokens, VIEWER_TOKENS: viewerTokens, SESSION_SECRET, PUBLIC_URL } = app.env;
  const ttlMs = app.env.SESSION_TTL_HOURS * 3600_000;
  const closed = adminTokens.length === 0 && viewerTokens.length === 0;
  // Without SESSION_SECRET the key follows the token lists: the same on every host with the same
  // configuration, and every session ends when the lists change.
  const secret =
    SESSION_SECRET ??
    createHmac("sha256", "leadgraph-console-session")
      .update([...adminTokens, "|", ...viewerTokens].join("\n"))
      .digest("hex");
  const fingerprints: Record<Role, Set<string>> = {
    admin: new Set(adminTokens.map(fingerprint)),
    viewer: new Set(viewerTokens.map(fingerprint)),
  };
  const secureCookie = PUBLIC_URL?.startsWith("https:") ?? false;
  const publicOrigin = PUBLIC_URL ? new URL(PUBLIC_URL).origin : undefined;

  await app.register(cookie, { secret });

  const roleOfToken = (token: string): Role | null => {
    // Both lists are compared in full whatever matches, so timing says nothing about which list.
    const admin = tokenMatches(adminTokens, token);
    const viewer = tokenMatches(viewerTokens, token);
    return admin ? "admin" : viewer ? "viewer" : null;
  };
  app.decorate("roleOfToken", roleOfToken);

  app.decorate("startSession", (reply: FastifyReply, request: FastifyRequest, token: string, role: Role) => {
    const payload: SessionPayload = {
      r: role,
      e: Date.now() + ttlMs,
      c: randomBytes(24).toString("base64url"),
      k: fingerprint(token),
    };
    reply.setCookie(SESSION_COOKIE, Buffer.from(JSON.stringify(payload)).toString("base64url"), {
      signed: true,
      httpOnly: true,
      sameSite: "strict",
      secure: secureCookie || request.protocol === "https",
      path: "/",
      maxAge: Math.floor(ttlMs / 1000),
    });
    return { role, csrfToken: payload.c, expiresAt: new Date(payload.e).toISOString() };
  });

  app.decorate("sessionOf", (request: FastifyRequest) => {
    const raw = request.cookies[SESSION_COOKIE];
    if (!raw) return null;
    const unsigned = request.unsignCookie(raw);
    if (!unsigned.valid || unsigned.value === null) return null;
    const payload = parsePayload(unsigned.value);
    // A removed token ends the sessions it started.
    if (!payload || payload.e <= Date.now() || !fingerprints[payload.r].has(payload.k)) return null;
    return {
      role: payload.r,
      csrfToken: payload.c,
      expiresAt: new Date(payload.e).toISOString(),
      fingerprint: payload.k,
    };
  });

  app.decorate("endSession", (reply: FastifyReply) => {
    reply.clearCookie(SESSION_COOKIE, { path: "/" });
  });

  /** A state-changing request made with the cookie must prove it comes from our own pages. */
  app.decorate("checkCsrf", (request: FastifyRequest, csrfToken: string): void => {
    const origin = request.headers.origin;
    if (origin !== undefined) {
      const own = publicOrigin ?? `${request.protocol}://${request.host}`;
      if (origin !== own) throw new HttpError(403, "csrf_rejected", "cross-origin request refused", "origin");
    }
    const presented = request.headers[CSRF_HEADER];
    if (typeof presented !== "string" || !constantTimeEqual(presented, csrfToken))
      throw new HttpError(403, "csrf_rejected", "missing or wrong anti-CSRF token", CSRF_HEADER);
  });

  app.decorate("requireAdmin", async (request: FastifyRequest, reply: FastifyReply) => {
    // Counted before anything else: requests with a wrong token or none count too.
    await app.rateLimits.admin.call(app, request, reply);
    if (closed)
      throw new HttpError(
        403,
        "admin_disabled",
        "the admin API is closed: no ADMIN_TOKENS or VIEWER_TOKENS are configured",
      );
    const header = request.headers.authorization;
    const presentsCookie = request.cookies[SESSION_COOKIE] !== undefined;
    if (header !== undefined || presentsCookie) await app.adminAuthFailures.check(request);
    let principal: Principal;
    if (header !== undefined) {
      const presented = header.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
      const role = presented ? roleOfToken(presented) : null;
      if (!role) await app.adminAuthFailures.count(request);
      if (!role)
        throw new HttpError(401, "unauthorized", "a valid admin bearer token is required", "authorization", {
          "www-authenticate": 'Bearer realm="leadgraph-admin"',
        });
      principal = { role, via: "bearer" };
    } else {
      const session = app.sessionOf(request);
      if (!session && presentsCookie) await app.adminAuthFailures.count(request);
      if (!session)
        throw new HttpError(
          401,
          "unauthorized",
          "sign in to the console or send a bearer token",
          "authorization",
          { "www-authenticate": 'Bearer realm="leadgraph-admin"' },
        );
      principal = { role: session.role, via: "session" };
      if (!SAFE_METHODS.has(request.method)) app.checkCsrf(request, session.csrfToken);
    }
    request.principal = principal;
    if (
      !SAFE_METHODS.has(request.method) &&
      principal.role !== "admin" &&
      !request.routeOptions.config.readOnly
    )
      throw new HttpError(403, "forbidden", "viewers can look but not change anything; an admin can");
  });
}

export default fp(adminAuth, {
  name: "leadgraph-admin-auth",
  fastify: "5.x",
  dependencies: ["leadgraph-service", "leadgraph-rate-limit"],
});
