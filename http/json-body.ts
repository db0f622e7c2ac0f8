/**
 * JSON is the only body type: the parser keeps the raw bytes (signatures are computed over them), parses
 * with Fastify's prototype-poisoning-safe parser, and lets an empty body through as `undefined` so the
 * route decides what an absent body means. Any other content type is a 415 from Fastify itself.
 */
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { HttpError } from "./errors.ts";

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
    // Fastify's parser takes a string or a Buffer; its errors become 400 invalid_json in the error handler,
    // except a refused `__proto__` / `constructor.prototype` key: valid JSON the sender should be told about.
    void parse(request, raw as unknown as string, (err: Error | null, value?: unknown) => {
      // Fastify's error says only "invalid JSON"; valid JSON here means the parser refused such a key.
      const field = err ? forbiddenKeyPath(raw) : undefined;
      if (field !== undefined) {
        const key = field.endsWith("constructor.prototype") ? "constructor.prototype" : "__proto__";
        done(new HttpError(422, "forbidden_key", `field name "${key}" is not allowed`, field), undefined);
        return;
      }
      done(err, value);
    });
  });
}

/**
 * The path of the first `__proto__` key (or `constructor` holding `prototype`) in the body. `JSON.parse` makes
 * such keys plain own properties, so reading them here pollutes nothing; the walk is iterative and bounded.
 */
function forbiddenKeyPath(raw: Buffer): string | undefined {
  let root: unknown;
  try {
    root = JSON.parse(raw.toString("utf8"));
  } catch {
    return undefined;
  }
  const stack: Array<{ value: unknown; path: string[] }> = [{ value: root, path: [] }];
  let visited = 0;
  while (stack.length > 0 && visited++ < 100_000) {
    const { value, path } = stack.pop() as { value: unknown; path: string[] };
    if (value === null || typeof value !== "object") continue;
    for (const key of Object.keys(value)) {
      const child = (value as Record<string, unknown>)[key];
      if (key === "__proto__") return [...path, key].join(".");
      if (
        key === "constructor" &&
        child !== null &&
        typeof child === "object" &&
        Object.hasOwn(child, "prototype")
      )
        return [...path, key, "prototype"].join(".");
      stack.push({ value: child, path: [...path, key] });
    }
  }
  return undefined;
}

export default fp(jsonBody, { name: "leadgraph-json-body", fastify: "5.x" });
