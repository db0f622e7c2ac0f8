/**
 * JSON is the only body type: the parser keeps the raw bytes (signatures are computed over them), parses
 * with Fastify's prototype-poisoning-safe parser, and lets an empty body through as `undefined` so the
 * route decides what an absent body means. Any other content type is a 415 from Fastify itself.
 */
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";

declare module "fastify" {
  interface FastifyRequest {
    /** The body exactly as received, for signature checks. */
    rawBody?: Buffer;
  }
}

async function jsonBody(app: FastifyInstance): Promise<void> {
  const parse = app.getDefaultJsonParser("error", "error");
  app.removeAllContentTypeParsers();
  app.decorateRequest("rawBody", undefined);
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body, done) => {
    const raw = body as Buffer;
    request.rawBody = raw;
    if (raw.length === 0) {
      done(null, undefined);
      return;
    }
    // Fastify's parser takes a string or a Buffer; its errors become 400 invalid_json in the error handler.
    void parse(request, raw as unknown as string, done);
  });
}

export default fp(jsonBody, { name: "leadgraph-json-body", fastify: "5.x" });
