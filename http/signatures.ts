/**
 * Webhook signatures, compared in constant time.
 *
 * - HubSpot v3: `X-HubSpot-Signature-v3` = base64(HMAC-SHA256(client secret, method + URI + body + timestamp)),
 *   with `X-HubSpot-Request-Timestamp` (ms) no more than 5 minutes away from now.
 * - Generic: `X-Signature: sha256=<hex>` = HMAC-SHA256(WEBHOOK_SECRET, raw body).
 */
import { createHash, createHmac, createSecretKey, type KeyObject, timingSafeEqual } from "node:crypto";

export const HUBSPOT_SIGNATURE_HEADER = "x-hubspot-signature-v3";
export const HUBSPOT_TIMESTAMP_HEADER = "x-hubspot-request-timestamp";
export const GENERIC_SIGNATURE_HEADER = "x-signature";
/** HubSpot's replay window. */
export const MAX_TIMESTAMP_SKEW_MS = 5 * 60 * 1000;

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

export function genericSignature(secret: SigningSecret, body: Buffer | string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export function verifyGenericSignature(
  secret: SigningSecret,
  body: Buffer,
  header: string | undefined,
): SignatureCheck {
  if (!header) return { ok: false, field: "X-Signature", message: "X-Signature header is required" };
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (!match?.[1]) return { ok: false, field: "X-Signature", message: "X-Signature must be sha256=<hex>" };
  const expected = createHmac("sha256", secret).update(body).digest();
  if (!constantTimeEqual(Buffer.from(match[1], "hex"), expected))
    return { ok: false, field: "X-Signature", message: "signature does not match the body" };
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
