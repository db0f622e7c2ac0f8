/**
 * Reports (JSON) for the console's Reports page and for scripts: `GET /admin/reports?days=14` has every
 * section; `GET /admin/reports/<section>` one of them (speed-to-lead, owners, paths, failures, llm,
 * acceptance).
 */
import type { FastifyInstance } from "fastify";
import type { ReportSection, Reports } from "../../app/lead-service.ts";
import { errorRef } from "../errors.ts";

const SECTIONS: Record<ReportSection, (r: Reports) => unknown> = {
  "speed-to-lead": (r) => r.speedToLead,
  owners: (r) => r.owners,
  paths: (r) => ({ paths: r.paths, tiers: r.tiers }),
  failures: (r) => r.failures,
  llm: (r) => r.llm,
  acceptance: (r) => r.acceptance,
};

const daysQuery = {
  type: "object",
  properties: { days: { type: "integer", minimum: 1, maximum: 90, default: 14 } },
} as const;

export default async function reportsRoutes(app: FastifyInstance): Promise<void> {
  const security = [{ bearerAuth: [] }];
  const errors = { 400: errorRef, 401: errorRef, 403: errorRef, 429: errorRef } as const;
  const open = { type: "object", additionalProperties: true } as const;

  app.get<{ Querystring: { days: number } }>(
    "/reports",
    {
      schema: {
        summary:
          "Every report over the last `days` UTC days: speed to lead, owners, paths and tiers, failures, LLM",
        tags: ["admin"],
        security,
        querystring: daysQuery,
        response: { 200: open, ...errors },
      },
    },
    async (request) => app.leads.reports(request.query.days),
  );

  app.get<{ Querystring: { days: number }; Params: { section: ReportSection } }>(
    "/reports/:section",
    {
      schema: {
        summary: "One report section over the last `days` UTC days",
        tags: ["admin"],
        security,
        querystring: daysQuery,
        params: {
          type: "object",
          required: ["section"],
          properties: { section: { type: "string", enum: Object.keys(SECTIONS) } },
        },
        response: {
          200: {
            type: "object",
            properties: {
              from: { type: "string" },
              to: { type: "string" },
              leads: { type: "integer" },
              truncated: { type: "boolean" },
              report: open,
            },
          },
          ...errors,
        },
      },
    },
    async (request) => {
      const reports = await app.leads.reports(request.query.days);
      return {
        from: reports.from,
        to: reports.to,
        leads: reports.leads,
        truncated: reports.truncated,
        report: SECTIONS[request.params.section](reports),
      };
    },
  );
}
