/**
 * Outbound forwarding of live events (EVENTS_WEBHOOK_URL): each written batch is POSTed as
 * `{"events": [...]}` with `X-LeadGraph-Signature: sha256=<hex HMAC-SHA256 of the body>` (EVENTS_WEBHOOK_SECRET)
 * and `X-LeadGraph-Timestamp`, in order, retried with backoff. It runs beside the leads, never in their
 * way: a receiver that is down only costs batches once the bounded backlog is full (logged).
 */
import { createHmac } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../tools/ports.ts";
import type { LiveEvent } from "./live-events.ts";

export interface EventForwarderOptions {
  url: string;
  secret?: string;
  logger: Logger;
  /** Tries per batch. Default 5. */
  attempts?: number;
  /** First retry delay, doubled each time. Default 500 ms. */
  backoffMs?: number;
  timeoutMs?: number;
  /** Batches waiting to be sent, at most. Default 1000. */
  maxBacklog?: number;
}

export interface EventForwarder {
  forward(events: LiveEvent[]): void;
  /** Waits (bounded) for the backlog to be sent. */
  drain(timeoutMs: number): Promise<void>;
}

export const SIGNATURE_HEADER = "x-leadgraph-signature";
export const TIMESTAMP_HEADER = "x-leadgraph-timestamp";

export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export function createEventForwarder(options: EventForwarderOptions): EventForwarder {
  const { url, secret, logger } = options;
  const attempts = options.attempts ?? 5;
  const backoffMs = options.backoffMs ?? 500;
  const timeoutMs = options.timeoutMs ?? 5000;
  const maxBacklog = options.maxBacklog ?? 1000;
  const backlog: LiveEvent[][] = [];
  let sending: Promise<void> | undefined;

  async function send(events: LiveEvent[]): Promise<void> {
    const body = JSON.stringify({ events });
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const response = await fetch(url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            [TIMESTAMP_HEADER]: String(Date.now()),
            ...(secret ? { [SIGNATURE_HEADER]: signBody(secret, body) } : {}),
          },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        await response.body?.cancel();
        if (response.ok) return;
        // A 4xx other than 408/429 will not change on a retry.
        if (response.status < 500 && response.status !== 408 && response.status !== 429) {
          logger.warn({ status: response.status }, "event forwarding refused by the receiver");
          return;
        }
      } catch {
        // Network error or timeout: retried below.
      }
      if (attempt < attempts) await sleep(backoffMs * 2 ** (attempt - 1));
    }
    logger.warn({ events: events.length }, "event forwarding gave up on a batch");
  }

  async function pump(): Promise<void> {
    while (backlog.length > 0) {
      const events = backlog.shift() as LiveEvent[];
      await send(events);
    }
    sending = undefined;
  }

  return {
    forward(events) {
      backlog.push(events);
      if (backlog.length > maxBacklog) {
        backlog.shift();
        logger.warn({ maxBacklog }, "event forwarding is behind: the oldest batch was dropped");
      }
      sending ??= pump();
    },
    async drain(timeout) {
      if (!sending) return;
      await Promise.race([sending, sleep(timeout)]);
    },
  };
}
