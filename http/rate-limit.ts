/**
 * Per-client rate limits (@fastify/rate-limit): the webhook, the admin API, failed admin authentication and
 * 404s each count requests per client address in a fixed one-minute window. The counts live in the Redis
 * profile's Redis (LeadService.rateLimitRedis), so a limit holds across instances, and in process memory in
 * the embedded profile. Over a limit: 429 with Retry-After and our `{error, message}` body.
 *
 * A Redis that does not answer lets requests through (`skipOnError`): the store being down is the
 * webhook's 503 to give, not the limiter's 500.
 */
import { createRequire } from "node:module";
import rateLimit, { normalizeIP } from "@fastify/rate-limit";
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from "fastify";
import fp from "fastify-plugin";
import { HttpError } from "./errors.ts";

/** Failed admin authentications from one address in a minute before every admin request is refused. */
export const ADMIN_AUTH_FAILURES_PER_MINUTE = 10;
/** Unknown routes one address may ask for in a minute: enough for a mistyped URL, not for a scan. */
export const NOT_FOUND_PER_MINUTE = 60;
const WINDOW_MS = 60_000;
/** Redis keys: `lg:rate-limit:<limit>:<address>`. */
const NAMESPACE = "lg:rate-limit:";

type Limit = "webhook" | "admin" | "admin-auth" | "not-found";

interface Store {
  incr(
    key: string,
    cb: (err: Error | null, res?: { current: number; ttl: number }) => void,
    timeWindow: number,
    max: number,
  ): void;
  read(
    key: string,
    cb: (err: Error | null, res?: { current: number; ttl: number }) => void,
    timeWindow: number,
    max: number,
  ): void;
  child(options: unknown): Store;
}

// The plugin's stores give each limiter its own key prefix made of the route's method and URL, which for a
// limiter made outside a route reads `undefinedundefined-`. Ours name their keys themselves, so every
// limiter shares the one store and `child` is the store itself. The stores are not exported by name.
const require = createRequire(import.meta.url);
const RedisStore = require("@fastify/rate-limit/store/RedisStore") as new (
  continueExceeding: boolean,
  exponentialBackoff: boolean,
  redis: unknown,
  nameSpace: string,
) => Store;
const LocalStore = require("@fastify/rate-limit/store/LocalStore") as new (
  continueExceeding: boolean,
  exponentialBackoff: boolean,
  cache: number,
) => Store;

function flatStore(redis: unknown): new () => Store {
  const inner = redis ? new RedisStore(false, false, redis, NAMESPACE) : new LocalStore(false, false, 10_000);
  return class FlatStore implements Store {
    incr: Store["incr"] = (...args) => inner.incr(...args);
    read: Store["read"] = (...args) => inner.read(...args);
    child(): Store {
      return this;
    }
  };
}

declare module "fastify" {
  interface FastifyInstance {
    /** onRequest hooks enforcing each per-client limit; a no-op where the limit is 0 (off). */
    rateLimits: Record<"webhook" | "admin" | "notFound", onRequestAsyncHookHandler>;
    /** Failed admin authentications: `check` throws 429 while an address is locked out; `count` adds one. */
    adminAuthFailures: {
      check(request: FastifyRequest): Promise<void>;
      count(request: FastifyRequest): Promise<void>;
    };
  }
}

function clientKey(limit: Limit) {
  return (request: FastifyRequest) => `${limit}:${normalizeIP(request.ip)}`;
}

function tooMany(what: string, max: number, ttlMs: number): HttpError {
  const seconds = Math.max(1, Math.ceil(ttlMs / 1000));
  return new HttpError(
    429,
    "rate_limited",
    `too many ${what} from this address: at most ${max} a minute; retry in ${seconds} s`,
    undefined,
    { "retry-after": String(seconds) },
  );
}

async function rateLimits(app: FastifyInstance): Promise<void> {
  const { env, leads } = app;
  await app.register(rateLimit, {
    global: false,
    store: flatStore(leads.rateLimitRedis),
    timeWindow: WINDOW_MS,
    skipOnError: true,
  });

  const off: onRequestAsyncHookHandler = async () => {};
  function limiter(limit: Limit, max: number, what: string): onRequestAsyncHookHandler {
    if (max === 0) return off;
    return app.rateLimit({
      max,
      keyGenerator: clientKey(limit),
      errorResponseBuilder: (_request, context) => tooMany(what, context.max, context.ttl),
    }) as onRequestAsyncHookHandler;
  }
  app.decorate("rateLimits", {
    webhook: limiter("webhook", env.WEBHOOK_RATE_LIMIT, "webhook deliveries"),
    admin: limiter("admin", env.ADMIN_RATE_LIMIT, "admin requests"),
    notFound: limiter("not-found", NOT_FOUND_PER_MINUTE, "requests for unknown routes"),
  });

  const failures = app.createRateLimit({
    max: ADMIN_AUTH_FAILURES_PER_MINUTE,
    keyGenerator: clientKey("admin-auth"),
  });
  app.decorate("adminAuthFailures", {
    async check(request: FastifyRequest) {
      const state = await failures(request, { increment: false });
      if (!state.isAllowed && state.remaining === 0 && state.ttl > 0)
        throw tooMany("failed admin authentications", state.max, state.ttl);
    },
    async count(request: FastifyRequest) {
      await failures(request);
    },
  });
}

export default fp(rateLimits, {
  name: "leadgraph-rate-limit",
  fastify: "5.x",
  dependencies: ["leadgraph-service"],
});
