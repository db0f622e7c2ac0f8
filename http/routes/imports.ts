/**
 * `POST /admin/imports` (Bearer token): a CSV list import, or its dry run, in one request. The answer comes
 * once every row is stored and queued (on the queue's import lane), so a 200 loses nothing; a connection
 * lost before it is safe to repeat, since the rows already stored come back as duplicates.
 */
import type { FastifyInstance } from "fastify";
import { errorRef, orUnavailable } from "../errors.ts";

const CSV_TYPES = ["text/csv", "application/csv"];

const problemSchema = {
  type: "object",
  properties: {
    row: {
      type: "integer",
      description: "1-based data row; 0 for the header; -1 for a row that could not be read.",
    },
    line: { type: "integer" },
    field: { type: "string" },
    message: { type: "string" },
  },
} as const;

const reportSchema = {
  type: "object",
  properties: {
    dryRun: { type: "boolean" },
    delimiter: { type: "string" },
    columns: {
      type: "array",
      items: { type: "object", properties: { name: { type: "string" }, field: { type: "string" } } },
    },
    rows: { type: "integer" },
    accepted: { type: "integer" },
    duplicates: { type: "integer" },
    rejected: { type: "integer" },
    problems: { type: "array", items: problemSchema },
    results: {
      type: "array",
      description:
        "One per row, in order: `{row, leadId, status, duplicate?}` or `{row, error, message, field}`.",
      items: {
        type: "object",
        properties: {
          row: { type: "integer" },
          leadId: { type: "string" },
          status: { type: "string" },
          duplicate: { type: "boolean" },
          error: { type: "string" },
          message: { type: "string" },
          field: { type: "string" },
        },
      },
    },
  },
} as const;

export default async function importRoutes(app: FastifyInstance): Promise<void> {
  const { env } = app;
  app.addHook("onRequest", app.requireAdmin);
  // Scoped to this plugin: CSV is a body type of imports only.
  app.addContentTypeParser(
    CSV_TYPES,
    { parseAs: "string", bodyLimit: env.IMPORT_MAX_BYTES },
    (_req, body, done) => done(null, body),
  );

  app.post<{ Querystring: { dry_run?: boolean; source?: string }; Body: string }>(
    "/imports",
    {
      bodyLimit: env.IMPORT_MAX_BYTES,
      schema: {
        summary: "Import a CSV list of leads (or check it with dry_run=true)",
        description:
          "Header row names the columns (the webhook's field map: email, first_name/firstname, company, country, " +
          "utm_*, ...); `,`, `;` or tab separated (detected), UTF-8 with or without BOM, quoted fields may hold " +
          "the separator. Every row is accepted like a webhook lead (same idempotency keys) on the queue's " +
          "import lane, behind live leads. A dry run reports each row's problem and stores nothing.",
        tags: ["admin"],
        security: [{ bearerAuth: [] }],
        consumes: CSV_TYPES,
        querystring: {
          type: "object",
          properties: {
            dry_run: { type: "boolean", default: false },
            source: {
              type: "string",
              maxLength: 100,
              description: "The lead channel of rows that name none (e.g. `event`); default `import`.",
            },
          },
        },
        body: { type: "string", description: "The CSV file." },
        response: {
          200: reportSchema,
          401: errorRef,
          403: errorRef,
          413: errorRef,
          429: errorRef,
          415: errorRef,
          503: errorRef,
        },
      },
    },
    async (request) => {
      return orUnavailable(
        app.leads.importCsv(
          request.body ?? "",
          {
            dryRun: request.query.dry_run === true,
            ...(request.query.source ? { channel: request.query.source } : {}),
          },
          request.log,
        ),
      );
    },
  );
}
