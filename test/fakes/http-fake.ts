import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A scripted failure for the next matching request (or every request, with `failAll`). */
export type Fault =
  | { status: number; body?: unknown; headers?: Record<string, string>; path?: string }
  /** Accepts the request and never answers, until the server closes. */
  | { hang: true; path?: string }
  /** Destroys the socket without a response (a network error for the client). */
  | { reset: true; path?: string };

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, or the raw text when it is not JSON, or undefined when empty. */
  body: unknown;
  /** The fault served instead of a real answer, if any. */
  fault?: Fault;
  /** Set when the client gave up on a hanging request (its AbortSignal reached the socket). */
  abandoned?: boolean;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (req: RecordedRequest) => Reply | Promise<Reply>;

/** Default error bodies per status, so a fault needs only its status. */
export type ErrorBody = (status: number) => unknown;

export interface FakeServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Every request received, faults included, in arrival order. */
  requests: RecordedRequest[];
  /** Queues faults served, in order, to the next requests whose path starts with the fault's `path` (any when absent). */
  enqueue(...faults: Fault[]): void;
  /** Serves this fault to every request until cleared with `failAll(undefined)`. */
  failAll(fault: Fault | undefined): void;
  close(): Promise<void>;
}

/** A loopback HTTP server on a free port with fault scripting and request recording. */
export async function startFakeServer(handler: Handler, errorBody: ErrorBody): Promise<FakeServer> {
  const requests: RecordedRequest[] = [];
  const queue: Fault[] = [];
  let always: Fault | undefined;

  const takeFault = (path: string): Fault | undefined => {
    if (always && (always.path === undefined || path.startsWith(always.path))) return always;
    const index = queue.findIndex((f) => f.path === undefined || path.startsWith(f.path));
    return index === -1 ? undefined : queue.splice(index, 1)[0];
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString("utf8");
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const recorded: RecordedRequest = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: parseBody(text),
      };
      requests.push(recorded);
      const fault = takeFault(url.pathname);
      if (fault) {
        recorded.fault = fault;
        if ("hang" in fault) {
          res.on("close", () => {
            recorded.abandoned = true;
          });
          return;
        }
        if ("reset" in fault) {
          req.socket.destroy();
          return;
        }
        send(res, {
          status: fault.status,
          body: fault.body ?? errorBody(fault.status),
          headers: fault.headers ?? {},
        });
        return;
      }
      send(res, await handler(recorded));
    })().catch((err: unknown) => {
      send(res, { status: 500, body: { error: { message: `fake server bug: ${String(err)}` } } });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    enqueue: (...faults) => queue.push(...faults),
    failAll: (fault) => {
      always = fault;
    },
    close: () =>
      new Promise<void>((resolve) => {
        // Hanging requests would otherwise keep close() waiting forever.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function parseBody(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  const payload = reply.body === undefined ? "" : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    ...(payload === "" ? {} : { "content-type": "application/json" }),
    ...reply.headers,
  });
  res.end(payload);
}
