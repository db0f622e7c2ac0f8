import { pino } from "pino";
import type { Logger } from "../tools/ports.ts";

/**
 * Keys that may hold personal data or secrets. Log lines carry ids and codes only; these paths are a
 * second line of defence for a field that slips in anyway.
 */
export const REDACT_PATHS = [
  "email",
  "phone",
  "name",
  "firstName",
  "lastName",
  "fullName",
  "ownerEmail",
  "token",
  "authorization",
  "apiKey",
  "*.email",
  "*.phone",
  "*.name",
  "*.firstName",
  "*.lastName",
  "*.fullName",
  "*.ownerEmail",
  "*.token",
  "*.apiKey",
  "*.authorization",
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-hubspot-signature-v3"]',
  'req.headers["x-signature"]',
];

export function createLogger(
  options: { level?: string; destination?: NodeJS.WritableStream } = {},
): pino.Logger & Logger {
  return pino(
    {
      level: options.level ?? "info",
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      base: { service: "leadgraph" },
    },
    options.destination ?? pino.destination({ dest: 2, sync: false }),
  );
}

/** For tests and quiet CLI runs. */
export const silentLogger: Logger = {
  info() {},
  warn() {},
  error() {},
  debug() {},
};
