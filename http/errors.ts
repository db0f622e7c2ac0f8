/**
 * Error bodies and the one error handler: every error answer is `{error, message, field?}`; a sender's
 * mistake is a 4xx naming what was wrong, and a 5xx never shows internals.
 */
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { FastifyError, FastifyInstance, preHandlerAsyncHookHandler } from "fastify";
import { ServiceUnavailableError } from "../app/lead-service.ts";

export const ERROR_SCHEMA_ID = "ErrorBody";

export const errorSchema = {
  $id: ERROR_SCHEMA_ID,
  type: "object",
  required: ["error", "message"],
  properties: {
    error: { type: "string", description: "Stable machine-readable code, e.g. invalid_lead." },
    message: { type: "string" },
    field: { type: "string", description: "The field, header or part of the request that was wrong." },
  },
} as const;

/** `{ $ref }` to the shared error schema, for route response maps. */
export const errorRef = { $ref: `${ERROR_SCHEMA_ID}#` } as const;

/** What the webhook can answer besides a lead: the sender's mistakes, the rate limit and "try later". */
export const WEBHOOK_ERROR_RESPONSES = {
  400: errorRef,
  401: errorRef,
  413: errorRef,
  415: errorRef,
  422: errorRef,
  429: errorRef,
  503: errorRef,
} as const;

export interface ErrorBody {
  error: string;
  message: string;
  field?: string;
}

/** An expected failure with its status and body; thrown by handlers and hooks, answered by the handler below. */
export class HttpError extends Error {
  override readonly name = "HttpError";
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  readonly headers: Record<string, string>;
  constructor(
    status: number,
    code: string,
    message: string,
    field?: string,
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
    this.headers = headers;
  }

  get body(): ErrorBody {
    return { error: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) };
  }
}

/** Seconds a sender should wait before retrying after a 503. */
export const RETRY_AFTER_SECONDS = 5;

/** The store or queue did not answer: the sender should retry the same delivery later. */
export function unavailable(message = "lead intake is temporarily unavailable; retry later"): HttpError {
  return new HttpError(503, "unavailable", message, undefined, {
    "retry-after": String(RETRY_AFTER_SECONDS),
  });
}

/**
 * A body the service refused: 422, naming the field. A broken size or shape limit (app/payload-limits.ts)
 * is `payload_limit` and its message names the limit; the body is well-formed and under the byte limit
 * (that one is Fastify's 413), but it will never be accepted as it is, so it is not a 413 inviting a
 * smaller retry nor anything a sender would retry.
 */
export function refused(refusal: { field: string; message: string; limit?: string }): HttpError {
  return new HttpError(422, refusal.limit ? "payload_limit" : "invalid_lead", refusal.message, refusal.field);
}

/** Fastify's own 4xx codes, as our codes. Their messages carry no request data, so they are passed on. */
const FASTIFY_CODES: Record<string, { code: string; field?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: "payload_too_large", field: "body" },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: "unsupported_media_type", field: "content-type" },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: "bad_request", field: "content-length" },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: "invalid_json", field: "body" },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: "invalid_json", field: "body" },
};

function validationField(err: FastifyError): string | undefined {
  const first = err.validation?.[0];
  if (!first) return err.validationContext;
  const missing = (first.params as { missingProperty?: unknown } | undefined)?.missingProperty;
  const path = first.instancePath.replace(/^\//, "").replaceAll("/", ".");
  const name = [path, typeof missing === "string" ? missing : ""].filter(Boolean).join(".");
  return name || err.validationContext;
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | HttpError, request, reply) => {
    if (err instanceof HttpError) {
      if (err.status >= 500) request.log.warn({ code: err.code }, err.message);
      return reply.code(err.status).headers(err.headers).send(err.body);
    }
    if (err.validation) {
      const field = validationField(err);
      const detail = err.validation[0]?.message ?? "is invalid";
      return reply.code(400).send({
        error: "invalid_request",
        message: `${field ?? "request"} ${detail}`,
        ...(field ? { field } : {}),
      });
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const known = err.code ? FASTIFY_CODES[err.code] : undefined;
      const message =
        known?.code === "invalid_json"
          ? "body is not valid JSON"
          : known?.code === "unsupported_media_type"
            ? "accepted: application/json, application/x-www-form-urlencoded, multipart/form-data"
            : err.message;
      return reply.code(status).send({
        error: known?.code ?? "bad_request",
        message,
        ...(known?.field ? { field: known.field } : {}),
      });
    }
    // The message may name internals (hosts, SQL, stack frames): it goes to the log only.
    request.log.error(
      { err: { name: err.name, message: err.message, code: err.code, stack: err.stack } },
      "request failed",
    );
    return reply.code(500).send({ error: "internal_error", message: "internal error" });
  });
}

/** 404 for unknown routes; `preHandler` rate-limits them, so the routes cannot be found by scanning. */
export function installNotFoundHandler(app: FastifyInstance, preHandler: preHandlerAsyncHookHandler): void {
  app.setNotFoundHandler({ preHandler }, (request, reply) => {
    reply
      .code(404)
      .send({ error: "not_found", message: `no route for ${request.method} ${request.url.split("?")[0]}` });
  });
}

/** Errors Node raises before a request exists (a request too slow, headers too large, bad HTTP). */
const CLIENT_ERRORS: Record<string, { status: number; error: string; message: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    error: "request_timeout",
    message: "the request did not arrive in time",
  },
  HPE_HEADER_OVERFLOW: {
    status: 431,
    error: "headers_too_large",
    message: "the request headers are too large",
  },
};

/** Fastify's clientErrorHandler with our body; it writes to the socket since there is no reply yet. */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const { status, error, message } = CLIENT_ERRORS[err.code ?? ""] ?? {
    status: 400,
    error: "bad_request",
    message: "the request is not valid HTTP",
  };
  if (socket.writable) {
    const body = JSON.stringify({ error, message });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

/** The service's "try later" (its store or queue is down) as the 503 a sender retries. */
export async function orUnavailable<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof ServiceUnavailableError) throw unavailable(err.message);
    throw err;
  }
}
