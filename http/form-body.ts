/**
 * Web form bodies on the webhook: `application/x-www-form-urlencoded` (fast-querystring, the parser Fastify
 * and @fastify/formbody use) and `multipart/form-data` without files (@fastify/busboy, the parser under
 * @fastify/multipart). Both read the whole body as bytes first, within the app's body limit, because the
 * signature check needs them: @fastify/formbody hands its parser a string and @fastify/multipart streams
 * the request, so neither keeps the raw body. A parsed form is an object of text values (a repeated field
 * is a list); the request is marked `formPost` so the route applies the browser rules.
 */
import { Busboy } from "@fastify/busboy";
import { parse as parseQuery } from "fast-querystring";
import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { HttpError } from "./errors.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** The body came as a web form (urlencoded or multipart). */
    formPost?: boolean;
  }
}

/** Most fields one form may carry; far above any lead form. */
const MAX_FIELDS = 200;

export type FormFields = Record<string, string | string[]>;

function addField(fields: FormFields, name: string, value: string): void {
  const existing = Object.hasOwn(fields, name) ? fields[name] : undefined;
  if (existing === undefined) fields[name] = value;
  else fields[name] = Array.isArray(existing) ? [...existing, value] : [existing, value];
}

/** Own, plain keys: a field named `__proto__` stays a field. */
function plain(source: Record<string, unknown>): FormFields {
  const fields: FormFields = {};
  for (const key of Object.keys(source)) {
    const value = source[key];
    if (typeof value === "string") addField(fields, key, value);
    else if (Array.isArray(value)) for (const v of value) addField(fields, key, String(v));
  }
  return fields;
}

function parseMultipart(request: FastifyRequest, raw: Buffer): Promise<FormFields> {
  return new Promise((resolve, reject) => {
    const fields: FormFields = {};
    let file: string | undefined;
    let parser: ReturnType<typeof Busboy>;
    try {
      parser = Busboy({
        headers: { ...request.headers, "content-type": String(request.headers["content-type"]) },
        limits: { fields: MAX_FIELDS, fieldSize: raw.length },
      });
    } catch {
      reject(new HttpError(400, "invalid_form", "multipart body without a boundary", "content-type"));
      return;
    }
    parser.on("field", (name, value) => addField(fields, name, value));
    parser.on("file", (name, stream) => {
      file ??= name;
      stream.resume();
    });
    parser.on("error", () =>
      reject(new HttpError(400, "invalid_form", "multipart body could not be parsed", "body")),
    );
    parser.on("finish", () => {
      if (file !== undefined)
        reject(new HttpError(400, "file_not_accepted", `form fields only; ${file} is a file`, file));
      else resolve(fields);
    });
    parser.end(raw);
  });
}

async function formBody(app: FastifyInstance): Promise<void> {
  app.decorateRequest("formPost", false);
  app.addContentTypeParser(
    "application/x-www-form-urlencoded",
    { parseAs: "buffer" },
    (request, body, done) => {
      const raw = body as Buffer;
      request.rawBody = raw;
      request.formPost = true;
      done(null, plain(parseQuery(raw.toString("utf8")) as Record<string, unknown>));
    },
  );
  app.addContentTypeParser("multipart/form-data", { parseAs: "buffer" }, (request, body, done) => {
    const raw = body as Buffer;
    request.rawBody = raw;
    request.formPost = true;
    parseMultipart(request, raw).then(
      (fields) => done(null, fields),
      (err: Error) => done(err),
    );
  });
}

export default fp(formBody, {
  name: "leadgraph-form-body",
  fastify: "5.x",
  dependencies: ["leadgraph-json-body"],
});
