/**
 * Admin API for safe routing changes (Bearer token): the routing.json and scoring.json in force with their
 * version hash, load time and warnings; the versions loaded so far with a diff against the one in force;
 * and what-if, which replays recent leads against a candidate config before it is deployed.
 */
import type { FastifyInstance } from "fastify";
import { sinceOf } from "../../app/routing-admin.ts";
import type { ConfigKind } from "../../config/revops.ts";
import { errorRef, HttpError } from "../errors.ts";

const KINDS = ["routing", "scoring"] as const;

const fileInForce = {
  type: "object",
  properties: {
    file: { type: "string" },
    hash: { type: "string" },
    loadedAt: { type: "string" },
    config: { type: "object", additionalProperties: true },
  },
} as const;

const warningSchema = {
  type: "object",
  properties: { path: { type: "string" }, code: { type: "string" }, message: { type: "string" } },
} as const;

const versionSummary = {
  type: "object",
  properties: {
    kind: { type: "string" },
    hash: { type: "string" },
    file: { type: "string" },
    firstLoadedAt: { type: "string" },
    lastLoadedAt: { type: "string" },
    current: { type: "boolean" },
  },
} as const;

const decisionSchema = {
  type: "object",
  properties: {
    owner: { type: "string" },
    rule: { type: "string" },
    tier: { type: "string" },
    explanation: { type: "array", items: { type: "string" } },
  },
} as const;

export default async function routingRoutes(app: FastifyInstance): Promise<void> {
  const { routing } = app.leads;
  app.addHook("onRequest", app.requireAdmin);
  const security = [{ bearerAuth: [] }];
  const authErrors = { 401: errorRef, 403: errorRef, 429: errorRef } as const;

  app.get(
    "/routing",
    {
      schema: {
        summary: "routing.json and scoring.json in force: content, version hash, load time, warnings",
        tags: ["admin"],
        security,
        response: {
          200: {
            type: "object",
            properties: {
              routing: fileInForce,
              scoring: fileInForce,
              warnings: { type: "array", items: warningSchema },
            },
          },
          ...authErrors,
        },
      },
    },
    async () => routing.status(),
  );

  app.get<{ Querystring: { kind: ConfigKind; limit: number } }>(
    "/routing/versions",
    {
      schema: {
        summary: "Every version of routing.json (or scoring.json) loaded, newest first",
        tags: ["admin"],
        security,
        querystring: {
          type: "object",
          properties: {
            kind: { type: "string", enum: KINDS, default: "routing" },
            limit: { type: "integer", minimum: 1, maximum: 500, default: 100 },
          },
        },
        response: {
          200: { type: "object", properties: { versions: { type: "array", items: versionSummary } } },
          ...authErrors,
        },
      },
    },
    async (request) => ({ versions: await routing.versions(request.query.kind, request.query.limit) }),
  );

  app.get<{ Params: { kind: ConfigKind; hash: string } }>(
    "/routing/versions/:kind/:hash",
    {
      schema: {
        summary: "One version's text and its unified diff to the version in force",
        tags: ["admin"],
        security,
        params: {
          type: "object",
          required: ["kind", "hash"],
          properties: {
            kind: { type: "string", enum: KINDS },
            hash: { type: "string", pattern: "^[0-9a-f]{6,64}$" },
          },
        },
        response: {
          200: {
            type: "object",
            properties: {
              ...versionSummary.properties,
              text: { type: "string" },
              diffToCurrent: { type: "string" },
            },
          },
          404: errorRef,
          ...authErrors,
        },
      },
    },
    async (request, reply) => {
      const version = await routing.version(request.params.kind, request.params.hash);
      if (!version)
        return reply.code(404).send({
          error: "version_not_found",
          message: `no ${request.params.kind} version with this hash`,
          field: "hash",
        });
      return version;
    },
  );

  app.post<{ Body: { routing?: unknown; scoring?: unknown; since?: string } }>(
    "/routing/what-if",
    {
      schema: {
        summary:
          "Replay recent leads against a candidate routing.json and/or scoring.json; list what would change",
        description:
          "Every completed lead received since `since` (default 7d; `30m`, `24h`, `7d` or an ISO date) is scored and routed " +
          "again from its stored facts, under the files in force and under the candidate; leads whose owner, queue or tier " +
          "differ are listed with both explanations. Nothing is written. Pool assignments compare by pool.",
        tags: ["admin"],
        security,
        body: {
          type: "object",
          properties: {
            routing: { type: "object", additionalProperties: true, description: "Candidate routing.json" },
            scoring: { type: "object", additionalProperties: true, description: "Candidate scoring.json" },
            since: { type: "string", maxLength: 40, default: "7d" },
          },
        },
        response: {
          200: {
            type: "object",
            properties: {
              since: { type: "string" },
              compared: { type: "integer" },
              skipped: { type: "integer" },
              changes: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    leadId: { type: "string" },
                    receivedAt: { type: "string" },
                    changed: { type: "array", items: { type: "string" } },
                    before: decisionSchema,
                    after: decisionSchema,
                  },
                },
              },
            },
          },
          400: errorRef,
          422: {
            type: "object",
            properties: {
              error: { type: "string" },
              message: { type: "string" },
              field: { type: "string" },
              problems: {
                type: "array",
                items: {
                  type: "object",
                  properties: { path: { type: "string" }, message: { type: "string" } },
                },
              },
            },
          },
          ...authErrors,
        },
      },
    },
    async (request, reply) => {
      const since = sinceOf(request.body.since ?? "7d", new Date());
      if (!since)
        throw new HttpError(400, "invalid_since", "since must be like 30m, 24h, 7d or an ISO date", "since");
      const result = await routing.whatIf({
        routing: request.body.routing,
        scoring: request.body.scoring,
        since,
      });
      if (!result.ok)
        return reply.code(422).send({
          error: "invalid_candidate",
          message: `the candidate ${result.file}.json is invalid: ${result.errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`,
          field: result.file,
          problems: result.errors,
        });
      const { ok: _ok, ...body } = result;
      return body;
    },
  );
}
