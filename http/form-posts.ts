/**
 * The browser rules of form posts on the webhook. Browsers cannot sign, so a form post skips the signature
 * check only when its `Origin` is on FORM_ORIGINS; a filled honeypot field (FORM_HONEYPOT_FIELD) is a bot,
 * answered like a success but stored nowhere; and a browser is sent on to a thank-you page (303) named by
 * the form's `_redirect` field, which must be on one of the allowed origins (no open redirect), or by
 * FORM_REDIRECT_URL when the post came from a page (it accepts text/html).
 */
import type { FastifyRequest } from "fastify";
import type { Env } from "../config/env.ts";
import { HttpError } from "./errors.ts";

export const REDIRECT_FIELD = "_redirect";

export interface FormPolicy {
  /** Origins whose pages may post forms unsigned, and where `_redirect` may point. */
  origins: ReadonlySet<string>;
  honeypot: string;
  redirectUrl?: string;
}

export function formPolicy(env: Env): FormPolicy {
  return {
    origins: new Set(env.FORM_ORIGINS.map((o) => new URL(o).origin)),
    honeypot: env.FORM_HONEYPOT_FIELD,
    ...(env.FORM_REDIRECT_URL ? { redirectUrl: env.FORM_REDIRECT_URL } : {}),
  };
}

function first(value: unknown): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return typeof v === "string" && v.trim() !== "" ? v.trim() : undefined;
}

/** The request's Origin, when it is one of the allowed ones. */
export function allowedOrigin(request: FastifyRequest, policy: FormPolicy): string | undefined {
  const origin = request.headers.origin;
  return typeof origin === "string" && policy.origins.has(origin) ? origin : undefined;
}

export function isHoneypotHit(fields: Record<string, unknown>, policy: FormPolicy): boolean {
  return Object.hasOwn(fields, policy.honeypot) && first(fields[policy.honeypot]) !== undefined;
}

/**
 * Where to send the browser after the post, if anywhere; a `_redirect` off the allowed origins is the
 * sender's mistake (400 naming the field), checked before anything is stored.
 */
export function redirectTarget(
  request: FastifyRequest,
  fields: Record<string, unknown>,
  policy: FormPolicy,
): string | undefined {
  const asked = first(fields[REDIRECT_FIELD]);
  if (asked !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(asked);
    } catch {
      url = undefined;
    }
    if (!url || !/^https?:$/.test(url.protocol) || !policy.origins.has(url.origin))
      throw new HttpError(
        400,
        "invalid_redirect",
        `${REDIRECT_FIELD} must be an http(s) URL on an origin listed in FORM_ORIGINS`,
        REDIRECT_FIELD,
      );
    return url.href;
  }
  const fromPage = String(request.headers.accept ?? "").includes("text/html");
  return fromPage ? policy.redirectUrl : undefined;
}
