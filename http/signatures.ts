/**
 * Webhook signatures, compared in constant time. Each scheme signs a timestamp with the body and refuses a
 * stale one, so a captured delivery cannot be replayed later.
 *
 * - HubSpot v3: `X-HubSpot-Signature-v3` = base64(HMAC-SHA256(client secret, method + URI + body + timestamp)),
 *   with `X-HubSpot-Request-Timestamp` (ms) no more than 5 minutes away from now (HubSpot's rule).
 * - Generic (Stripe's shape): `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(WEBHOOK_SECRET, "<t>.<raw body>")>`,
 *   several `v1=` allowed (a sender rotating its secret signs with both), `t` at most 5 minutes old and at most
 *   a minute ahead of our clock. The old `sha256=<hex of the body>` form signed no time, so any captured
 *   delivery could be replayed for ever: it is refused with a message saying what to send instead.
 */
import { createHash, createHmac, createSecretKey, type KeyObject, timingSafeEqual } from "node:crypto";

export const HUBSPOT_SIGNATURE_HEADER = "x-hubspot-signature-v3";
export const HUBSPOT_TIMESTAMP_HEADER = "x-hubspot-request-timestamp";
export const GENERIC_SIGNATURE_HEADER = "x-signature";
/** HubSpot's replay window, either way. */
export const MAX_TIMESTAMP_SKEW_MS = 5 * 60 * 1000;
/** How old a generic signature's `t` may be: the replay window. */
export const SIGNATURE_MAX_AGE_SECONDS = 5 * 60;
/** How far ahead of our clock `t` may be: the sender's clock may run a little fast, never minutes. */
export const SIGNATURE_MAX_AHEAD_SECONDS = 60;
/** `v1=` values looked at; a rotation needs two. */
const MAX_SIGNATURES = 5;

export type SignatureCheck = { ok: true } | { ok: false; field: string; message: string };

/** A secret as an HMAC key, made once at startup rather than from the string on every request. */
export type SigningSecret = string | KeyObject;

export function signingKey(secret: string): KeyObject {
  return createSecretKey(Buffer.from(secret, "utf8"));
}

/**
 * Equal-length digests are compared with `timingSafeEqual`; hashing both sides first makes every input
 * the same length, so a length mismatch does not return early either.
 */
export function constantTimeEqual(a: Buffer | string, b: Buffer | string): boolean {
  const da = createHash("sha256").update(a).digest();
  const db = createHash("sha256").update(b).digest();
  return timingSafeEqual(da, db) && Buffer.byteLength(a) === Buffer.byteLength(b);
}

/** The `X-Signature` value for `body` signed at `timestamp` (unix seconds; now when absent). */
export function genericSignature(
  secret: SigningSecret,
  body: Buffer | string,
  timestamp: number = Math.floor(Date.now() / 1000),
): string {
  return `t=${timestamp},v1=${genericDigest(secret, String(timestamp), body).toString("hex")}`;
}

function genericDigest(secret: SigningSecret, timestamp: string, body: Buffer | string): Buffer {
  return createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest();
}

const GENERIC_FORMAT = 'X-Signature must be t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">';

export function verifyGenericSignature(
  secret: SigningSecret,
  body: Buffer,
  header: string | undefined,
  nowMs: number = Date.now(),
): SignatureCheck {
  const field = "X-Signature";
  if (!header) return { ok: false, field, message: "X-Signature header is required" };
  if (/^\s*sha256=/i.test(header))
    return {
      ok: false,
      field,
      message: `X-Signature sha256=<hex> is no longer accepted (it signs no time, so it can be replayed); ${GENERIC_FORMAT}`,
    };
  let timestamp: string | undefined;
  const signatures: string[] = [];
  for (const part of header.split(",")) {
    const [key, value] = part.trim().split("=", 2);
    if (key === "t") timestamp = value;
    else if (key === "v1" && value) signatures.push(value);
  }
  if (!timestamp || !/^\d{1,12}$/.test(timestamp) || signatures.length === 0)
    return { ok: false, field, message: GENERIC_FORMAT };
  const expected = genericDigest(secret, timestamp, body);
  // Every value is compared (no early exit), a bounded number of them.
  let match = false;
  for (const signature of signatures.slice(0, MAX_SIGNATURES))
    match =
      (/^[0-9a-fA-F]{64}$/.test(signature) && constantTimeEqual(Buffer.from(signature, "hex"), expected)) ||
      match;
  if (!match) return { ok: false, field, message: "signature does not match the body and timestamp" };
  // Freshness only once the signature holds: the timestamp is the sender's own.
  const age = Math.floor(nowMs / 1000) - Number(timestamp);
  if (age > SIGNATURE_MAX_AGE_SECONDS)
    return {
      ok: false,
      field,
      message: `signature timestamp is ${age} s old; deliveries signed more than ${SIGNATURE_MAX_AGE_SECONDS} s ago are refused`,
    };
  if (-age > SIGNATURE_MAX_AHEAD_SECONDS)
    return {
      ok: false,
      field,
      message: `signature timestamp is ${-age} s ahead of our clock (at most ${SIGNATURE_MAX_AHEAD_SECONDS} s allowed); check the sender's clock`,
    };
  return { ok: true };
}

// HubSpot decodes these escapes in the URI before signing. None decodes to `%`, so one pass equals
// decoding them one after the other.
const HUBSPOT_URI_DECODES: Record<string, string> = {
  "3A": ":",
  "2F": "/",
  "3F": "?",
  "40": "@",
  "21": "!",
  "24": "$",
  "27": "'",
  "28": "(",
  "29": ")",
  "2A": "*",
  "2C": ",",
  "3B": ";",
};
const HUBSPOT_URI_ESCAPE = /%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi;

export function hubspotUri(uri: string): string {
  return uri.replace(
    HUBSPOT_URI_ESCAPE,
    (match, hex: string) => HUBSPOT_URI_DECODES[hex.toUpperCase()] ?? match,
  );
}

export function hubspotV3Signature(
  secret: SigningSecret,
  request: { method: string; uri: string; body: Buffer | string; timestamp: string },
): string {
  return createHmac("sha256", secret)
    .update(request.method.toUpperCase())
    .update(hubspotUri(request.uri))
    .update(request.body)
    .update(request.timestamp)
    .digest("base64");
}

export function verifyHubspotV3(
  secret: SigningSecret,
  request: {
    method: string;
    /** Full URL as HubSpot called it: scheme, host, path and query. */
    uri: string;
    body: Buffer;
    signature: string | undefined;
    timestamp: string | undefined;
  },
  now: number = Date.now(),
): SignatureCheck {
  if (!request.signature)
    return {
      ok: false,
      field: "X-HubSpot-Signature-v3",
      message: "X-HubSpot-Signature-v3 header is required",
    };
  if (!request.timestamp || !/^\d{1,16}$/.test(request.timestamp))
    return {
      ok: false,
      field: "X-HubSpot-Request-Timestamp",
      message: "X-HubSpot-Request-Timestamp must be milliseconds since the epoch",
    };
  if (Math.abs(now - Number(request.timestamp)) > MAX_TIMESTAMP_SKEW_MS)
    return {
      ok: false,
      field: "X-HubSpot-Request-Timestamp",
      message: "request timestamp is more than 5 minutes away from now",
    };
  const expected = hubspotV3Signature(secret, {
    method: request.method,
    uri: request.uri,
    body: request.body,
    timestamp: request.timestamp,
  });
  if (!constantTimeEqual(request.signature.trim(), expected))
    return { ok: false, field: "X-HubSpot-Signature-v3", message: "signature does not match the request" };
  return { ok: true };
}

// ---------------------------------------------------------------- Slack

export const SLACK_SIGNATURE_HEADER = "x-slack-signature";
export const SLACK_TIMESTAMP_HEADER = "x-slack-request-timestamp";
/** Slack's replay window, either way: a request whose timestamp is further from our clock is refused. */
export const SLACK_MAX_SKEW_SECONDS = 5 * 60;

function slackDigest(secret: SigningSecret, timestamp: string, body: Buffer | string): Buffer {
  return createHmac("sha256", secret).update(`v0:${timestamp}:`).update(body).digest();
}

/** The `X-Slack-Signature` Slack would send for `body` at `timestamp` (unix seconds; now when absent). */
export function slackSignature(
  secret: SigningSecret,
  body: Buffer | string,
  timestamp: number = Math.floor(Date.now() / 1000),
): { signature: string; timestamp: string } {
  const t = String(timestamp);
  return { signature: `v0=${slackDigest(secret, t, body).toString("hex")}`, timestamp: t };
}

/**
 * Slack's request signing (`v0`): `X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret,
 * "v0:<X-Slack-Request-Timestamp>:<raw body>")>`, the timestamp within 5 minutes of our clock.
 */
export function verifySlackSignature(
  secret: SigningSecret,
  body: Buffer,
  signature: string | undefined,
  timestamp: string | undefined,
  nowMs: number = Date.now(),
): SignatureCheck {
  if (!timestamp)
    return {
      ok: false,
      field: "X-Slack-Request-Timestamp",
      message: "X-Slack-Request-Timestamp header is required",
    };
  if (!/^\d{1,12}$/.test(timestamp))
    return {
      ok: false,
      field: "X-Slack-Request-Timestamp",
      message: "X-Slack-Request-Timestamp must be unix seconds",
    };
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > SLACK_MAX_SKEW_SECONDS)
    return {
      ok: false,
      field: "X-Slack-Request-Timestamp",
      message: "X-Slack-Request-Timestamp is more than 5 minutes away from now (a replay, or a clock to fix)",
    };
  if (!signature)
    return { ok: false, field: "X-Slack-Signature", message: "X-Slack-Signature header is required" };
  const hex = /^v0=([0-9a-fA-F]{64})$/.exec(signature.trim())?.[1];
  const expected = slackDigest(secret, timestamp, body);
  // Compared even when malformed, so a malformed header costs the same time as a wrong one.
  const match =
    constantTimeEqual(hex ? Buffer.from(hex, "hex") : Buffer.alloc(32), expected) && hex !== undefined;
  return match
    ? { ok: true }
    : {
        ok: false,
        field: "X-Slack-Signature",
        message: "X-Slack-Signature does not match the body (v0 scheme)",
      };
}
