/**
 * The Fastify app factory: timeouts and load shedding, JSON and form intake with a 256 KB limit, one error
 * handler, the LeadService, metrics and per-client rate limits as plugins, the routes, the web console, and the OpenAPI
 * document built from the route schemas.
 */
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  LogController,
} from "fastify";
import type { LeadService } from "../app/lead-service.ts";
import type { Env } from "../config/env.ts";
import adminAuth from "./admin-auth.ts";
import consoleAssets from "./console.ts";
import { clientErrorHandler, errorSchema, installErrorHandlers, installNotFoundHandler } from "./errors.ts";
import formBody from "./form-body.ts";
import jsonBody from "./json-body.ts";
import loadShedding, { type LoadSheddingOptions } from "./load-shedding.ts";
import metricsPlugin, { type LeadMetrics } from "./metrics.ts";
import { WEBHOOK_ERRORS, webhookDocs } from "./openapi-sources.ts";
import rateLimits from "./rate-limit.ts";
import adminRoutes from "./routes/admin.ts";
import healthRoutes from "./routes/health.ts";
import importRoutes from "./routes/imports.ts";
import routingRoutes from "./routes/routing.ts";
import sessionRoutes from "./routes/session.ts";
import slackRoutes from "./routes/slack.ts";
import webhookRoutes from "./routes/webhook.ts";
import servicePlugin from "./service-plugin.ts";

export const BODY_LIMIT_BYTES = 256 * 1024;

/**
 * Socket and request timeouts (the demo's hardening): a client that sends its request slowly or not at
 * all does not hold a socket for ever. Keep-alive outlasts the 60 s idle timeout of common load balancers,
 * so the balancer, not us, closes idle connections (otherwise it may send on a socket we just closed).
 */
export const SERVER_TIMEOUTS = {
  /** The whole request, headers and body, must arrive within this (else 408). */
  requestTimeout: 30_000,
  /** A socket with no traffic at all for this long is closed. */
  connectionTimeout: 60_000,
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeout: 72_000,
  /** How often request timeouts are checked (Node's default is 30 s). */
  connectionsCheckingInterval: 5_000,
} as const;

export type ServerTimeouts = { [K in keyof typeof SERVER_TIMEOUTS]: number };

declare module "fastify" {
  interface FastifyRequest {
    /** The lead a request created or found, for the access log line. */
    leadId?: string;
  }
}

export interface BuildAppOptions {
  /** The app's one dependency on the rest of LeadGraph (app/lead-service.ts). */
  service: LeadService;
  env: Env;
  /** A pino logger (tools/logger.ts); request lines get a reqId, lead lines a leadId. */
  logger: FastifyBaseLogger;
  /** The registry the runtime reports to; a fresh one when absent. */
  metrics?: LeadMetrics;
  /** Production's timeouts and load-shedding thresholds unless given (tests shorten them). */
  timeouts?: Partial<ServerTimeouts>;
  loadShedding?: LoadSheddingOptions;
}

/** TRUST_PROXY as Fastify takes it: a hop count becomes the function Fastify itself would make of it. */
function trustProxy(
  value: Env["TRUST_PROXY"],
): boolean | string | ((address: string, hop: number) => boolean) {
  return typeof value === "number" ? (_address, hop) => hop < value : value;
}

export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const timeouts = { ...SERVER_TIMEOUTS, ...options.timeouts };
  const app = Fastify({
    loggerInstance: options.logger,
    requestTimeout: timeouts.requestTimeout,
    connectionTimeout: timeouts.connectionTimeout,
    keepAliveTimeout: timeouts.keepAliveTimeout,
    // Also to the server's constructor: Fastify sets requestTimeout after it, when Node has already fixed
    // headersTimeout at 60 s, and Node 24 then never times out a request whose body stalls.
    http: {
      requestTimeout: timeouts.requestTimeout,
      connectionsCheckingInterval: timeouts.connectionsCheckingInterval,
    },
    clientErrorHandler,
    // A malformed URL or an over-long id, found by the router before any handler: our body, not Fastify's.
    frameworkErrors: (error, _request, reply) => {
      void (reply as FastifyReply)
        .code(error.statusCode ?? 400)
        .send({ error: error.statusCode === 414 ? "uri_too_long" : "bad_url", message: error.message });
    },
    bodyLimit: BODY_LIMIT_BYTES,
    // request.ip, by which rate limits count, is the proxy's unless its X-Forwarded-For is trusted.
    trustProxy: trustProxy(options.env.TRUST_PROXY),
    // Ids of lead routes are UUIDs; anything longer is not ours.
    routerOptions: { maxParamLength: 200 },
    // One access line per request (below) instead of Fastify's two; it names the lead when there is one.
    logController: new LogController({ disableRequestLogging: true }),
    // Lead bodies are an object or a HubSpot batch of one: a union type.
    ajv: { customOptions: { coerceTypes: "array", removeAdditional: false, allowUnionTypes: true } },
  });

  installErrorHandlers(app);
  app.decorateRequest("leadId", undefined);
  // The access line is built here from the method, route, status, timing and ids only (never a payload or
  // a header), so it skips the root logger's redaction, whose wildcard paths cost several microseconds a
  // line. Everything else logs through request.log and stays redacted.
  const accessLog = options.logger.child({}, { redact: [] });
  app.addHook("onResponse", (request, reply, done) => {
    accessLog.info(
      {
        reqId: request.id,
        method: request.method,
        url: request.routeOptions.url ?? request.url.split("?")[0],
        statusCode: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        // Left out of the line when undefined.
        leadId: request.leadId,
      },
      "request",
    );
    done();
  });
  app.addSchema(errorSchema);

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "LeadGraph",
        description: "Inbound B2B lead intake, routing and admin API.",
        version: "0.1.0",
      },
      components: {
        securitySchemes: { bearerAuth: { type: "http", scheme: "bearer" } },
      },
      tags: [
        { name: "intake", description: "Lead webhooks" },
        { name: "slack", description: "Slack interactivity: the owner's and the review queue's buttons" },
        {
          name: "admin",
          description:
            "Leads, retry, processing, live events, reports and routing (Bearer token or console session)",
        },
        { name: "console", description: "The web console's sign-in" },
        { name: "operations", description: "Health, readiness, metrics" },
      ],
    },
    // The webhook's document shows each source's shape and every field with its limit (http/openapi-sources.ts);
    // its validation schema stays the lenient one intake reads by.
    transform: ({ schema, url, route }) => {
      if (url !== "/webhooks/lead" || route.method !== "POST") return { schema, url };
      const docs = webhookDocs({
        maxBatch: options.env.WEBHOOK_BATCH_MAX,
        honeypot: options.env.FORM_HONEYPOT_FIELD,
      });
      const described = schema as { description?: string };
      return {
        schema: { ...schema, ...docs, description: `${described.description ?? ""}\n\n${WEBHOOK_ERRORS}` },
        url,
      };
    },
  });
  // Swagger UI at /docs, from the package's own copy of its assets (no CDN).
  await app.register(swaggerUi, { routePrefix: "/docs" });

  // First: an overloaded process answers 503 before doing any work for the request.
  await app.register(loadShedding, options.loadShedding ?? {});
  await app.register(jsonBody);
  await app.register(formBody);
  await app.register(servicePlugin, { service: options.service, env: options.env });
  await app.register(metricsPlugin, options.metrics ? { metrics: options.metrics } : {});
  await app.register(rateLimits);
  await app.register(adminAuth);
  installNotFoundHandler(app, app.rateLimits.notFound);

  await app.register(healthRoutes);
  await app.register(webhookRoutes);
  await app.register(slackRoutes);
  await app.register(adminRoutes, { prefix: "/admin" });
  await app.register(routingRoutes, { prefix: "/admin" });
  await app.register(importRoutes, { prefix: "/admin" });
  await app.register(sessionRoutes, { prefix: "/console" });
  await app.register(consoleAssets);

  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  return app;
}
