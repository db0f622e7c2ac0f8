/**
 * `GET /admin/events`: lead progress from every process as server-sent events (received, node started and
 * finished, routed, notified, completed, failed; processing paused and resumed). Each event's `id` is its
 * place in the event log: a client that reconnects with `Last-Event-ID` (browsers do it by themselves) gets
 * every event it missed, for as long as the log keeps them (EVENTS_KEEP); when it asks for more than that,
 * an `event: gap` tells it to reload. A comment line every 15 s keeps proxies from closing the stream.
 */
import type { ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import { InvalidEventIdError, type LiveStream } from "../../app/lead-service.ts";
import { errorRef, HttpError } from "../errors.ts";

const HEARTBEAT_MS = 15_000;

function frame(id: string, data: unknown): string {
  return `id: ${id}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Writes and waits for the socket to drain when its buffer is full: a slow client does not grow our memory. */
async function send(raw: ServerResponse, text: string): Promise<void> {
  if (raw.destroyed) return;
  if (!raw.write(text)) await new Promise((resolve) => raw.once("drain", resolve).once("close", resolve));
}

export default async function eventsRoutes(app: FastifyInstance): Promise<void> {
  const open = new Set<LiveStream>();
  let shuttingDown = false;
  // Streams never go idle, so closing the server would wait for them: they end first.
  app.addHook("preClose", async () => {
    shuttingDown = true;
    for (const stream of open) stream.close();
  });

  app.get<{ Querystring: { last?: number; lastEventId?: string } }>(
    "/events",
    {
      schema: {
        summary: "Live lead events (text/event-stream); resumes after `Last-Event-ID`",
        tags: ["admin"],
        security: [{ bearerAuth: [] }],
        querystring: {
          type: "object",
          properties: {
            last: {
              type: "integer",
              minimum: 0,
              maximum: 1000,
              description: "Start with the newest N events.",
            },
            lastEventId: { type: "string", maxLength: 100, description: "As the Last-Event-ID header." },
          },
        },
        response: {
          200: {
            type: "string",
            description: "text/event-stream: `id:` and one JSON `data:` line per event",
          },
          400: errorRef,
          401: errorRef,
          403: errorRef,
          429: errorRef,
        },
      },
    },
    async (request, reply) => {
      const header = request.headers["last-event-id"];
      const afterId = (typeof header === "string" && header.trim()) || request.query.lastEventId;
      let stream: LiveStream;
      try {
        stream = await app.leads.openEvents({
          ...(afterId ? { afterId } : {}),
          ...(request.query.last ? { last: request.query.last } : {}),
        });
      } catch (err) {
        if (err instanceof InvalidEventIdError)
          throw new HttpError(400, "invalid_event_id", err.message, "last-event-id");
        throw err;
      }
      open.add(stream);
      const raw = reply.raw;
      reply.hijack();
      raw.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        connection: "keep-alive",
        "x-accel-buffering": "no",
      });
      let closed = false;
      request.raw.once("close", () => {
        closed = true;
        stream.close();
      });
      try {
        await send(raw, "retry: 2000\n\n");
        if (stream.gap) await send(raw, "event: gap\ndata: {}\n\n");
        for (const event of stream.initial) await send(raw, frame(event.id, event.data));
        while (!closed && !shuttingDown) {
          const batch = await stream.next(HEARTBEAT_MS);
          if (batch.gap) await send(raw, "event: gap\ndata: {}\n\n");
          if (batch.events.length === 0) await send(raw, ": keep-alive\n\n");
          for (const event of batch.events) await send(raw, frame(event.id, event.data));
        }
      } catch (err) {
        request.log.warn({ err: err instanceof Error ? err.message : String(err) }, "event stream ended");
      } finally {
        open.delete(stream);
        stream.close();
        raw.end();
      }
    },
  );
}
