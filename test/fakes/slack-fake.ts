/**
 * Loopback fake of the Slack Web API methods LeadGraph uses, so the real @slack/web-api client
 * runs against it (`slackApiUrl: fake.url`). Like Slack, it answers HTTP 200 with
 * `{ ok: false, error }` for API errors and HTTP 429 with Retry-After for rate limits, keeps message
 * metadata, and pages conversations.history newest first (metadata only with include_all_metadata).
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface SlackRecordedRequest {
  /** Web API method, e.g. "chat.postMessage". */
  method: string;
  headers: IncomingHttpHeaders;
  /** Parsed form-encoded or JSON body; JSON-looking form values (blocks) stay strings, as sent. */
  body: Record<string, unknown>;
  fault?: SlackFault["kind"];
  clientClosed?: boolean;
}

export interface SlackPostedMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: unknown[] | undefined;
  /** Message metadata as posted (`event_type`, `event_payload`). */
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  edits: number;
  /** Set on a reply: the ts of the message whose thread it is in. */
  thread_ts?: string;
}

export type SlackFault =
  | { kind: "status"; status: number; retryAfter?: string }
  | { kind: "platform"; error: string }
  | { kind: "hang" }
  /** Drops the connection after reading the request: the client cannot tell whether it was acted on. */
  | { kind: "reset" };

interface ScriptedFault {
  fault: SlackFault;
  remaining: number;
  method?: string;
}

export class SlackFake {
  readonly requests: SlackRecordedRequest[] = [];
  readonly messages: SlackPostedMessage[] = [];
  /** email (lower-case) → user id. */
  readonly users = new Map<string, string>();
  /** Channel ids and names the bot may post to, besides opened DMs. */
  readonly channels = new Set<string>();
  token = "xoxb-test";
  #dms = new Map<string, string>();
  #faults: ScriptedFault[] = [];
  #tsCounter = 0;
  #server = createServer((req, res) => {
    this.#handle(req, res).catch((err: unknown) => {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(err));
    });
  });
  #url = "";

  static async start(options: { token?: string } = {}): Promise<SlackFake> {
    const fake = new SlackFake();
    if (options.token) fake.token = options.token;
    await new Promise<void>((resolve) => fake.#server.listen(0, "127.0.0.1", resolve));
    fake.#url = `http://127.0.0.1:${(fake.#server.address() as AddressInfo).port}/api/`;
    return fake;
  }

  /** Value for the client's `slackApiUrl`. */
  get url(): string {
    return this.#url;
  }

  /** A click's `response_url` on this fake (the service posts the line for the clicker there). */
  responseUrl(id: string): string {
    return new URL(`/actions/T0TEAM/${id}`, this.#url).href;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  addUser(email: string, id: string): void {
    this.users.set(email.toLowerCase(), id);
  }

  /** Answers the next `times` calls of `method` (or any method) with `fault`. */
  inject(fault: SlackFault, options: { times?: number; method?: string } = {}): void {
    this.#faults.push({
      fault,
      remaining: options.times ?? 1,
      ...(options.method ? { method: options.method } : {}),
    });
  }

  clearFaults(): void {
    this.#faults = [];
  }

  calls(method: string): SlackRecordedRequest[] {
    return this.requests.filter((r) => r.method === method);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    // A click's response_url (Slack's hooks.slack.com/actions/...) is recorded as the "response_url" method.
    const method = url.pathname.startsWith("/actions/")
      ? "response_url"
      : url.pathname.replace(/^\/api\//, "");
    const raw = await readBody(req);
    const type = req.headers["content-type"] ?? "";
    const body: Record<string, unknown> = type.includes("application/json")
      ? (JSON.parse(raw || "{}") as Record<string, unknown>)
      : Object.fromEntries(new URLSearchParams(raw));
    const recorded: SlackRecordedRequest = { method, headers: req.headers, body };
    this.requests.push(recorded);

    const scripted = this.#faults.find(
      (f) => f.remaining > 0 && (f.method === undefined || f.method === method),
    );
    if (scripted) {
      scripted.remaining--;
      const { fault } = scripted;
      recorded.fault = fault.kind;
      if (fault.kind === "hang") {
        res.on("close", () => {
          recorded.clientClosed = true;
        });
        return;
      }
      if (fault.kind === "reset") {
        req.socket.destroy();
        return;
      }
      if (fault.kind === "platform") return ok(res, { ok: false, error: fault.error });
      const headers: Record<string, string> = { "content-type": "text/plain" };
      if (fault.retryAfter !== undefined) headers["retry-after"] = fault.retryAfter;
      res.writeHead(fault.status, headers);
      res.end(fault.status === 429 ? "" : "upstream trouble");
      return;
    }

    if (method === "response_url") return ok(res, { ok: true });
    const auth = req.headers.authorization;
    if (!auth) return ok(res, { ok: false, error: "not_authed" });
    if (auth !== `Bearer ${this.token}`) return ok(res, { ok: false, error: "invalid_auth" });

    switch (method) {
      case "users.lookupByEmail": {
        const email = String(body.email ?? "").toLowerCase();
        const id = this.users.get(email);
        if (!id) return ok(res, { ok: false, error: "users_not_found" });
        return ok(res, { ok: true, user: { id, team_id: "T1", name: id.toLowerCase(), profile: { email } } });
      }
      case "conversations.open": {
        const user = String(body.users ?? "");
        if (![...this.users.values()].includes(user)) return ok(res, { ok: false, error: "user_not_found" });
        let dm = this.#dms.get(user);
        if (!dm) {
          dm = `D${user.slice(1)}`;
          this.#dms.set(user, dm);
        }
        return ok(res, { ok: true, channel: { id: dm } });
      }
      case "chat.postMessage": {
        const channel = String(body.channel ?? "");
        if (!this.channels.has(channel) && ![...this.#dms.values()].includes(channel)) {
          return ok(res, { ok: false, error: "channel_not_found" });
        }
        // Like Slack's: the posting time in seconds, made unique by a counter in the micro-second digits.
        const ts = `${Math.floor(Date.now() / 1000)}.${String(++this.#tsCounter).padStart(6, "0")}`;
        const metadata = parseJson(body.metadata) as SlackPostedMessage["metadata"];
        const message: SlackPostedMessage = {
          channel,
          ts,
          text: String(body.text ?? ""),
          blocks: parseBlocks(body.blocks),
          ...(metadata ? { metadata } : {}),
          edits: 0,
          ...(typeof body.thread_ts === "string" ? { thread_ts: body.thread_ts } : {}),
        };
        this.messages.push(message);
        return ok(res, { ok: true, channel, ts, message: { type: "message", text: message.text, ts } });
      }
      case "chat.update": {
        const message = this.messages.find((m) => m.channel === body.channel && m.ts === body.ts);
        if (!message) return ok(res, { ok: false, error: "message_not_found" });
        message.text = String(body.text ?? "");
        message.blocks = parseBlocks(body.blocks);
        message.edits++;
        return ok(res, { ok: true, channel: message.channel, ts: message.ts, text: message.text });
      }
      case "conversations.history": {
        const channel = String(body.channel ?? "");
        if (!this.channels.has(channel) && ![...this.#dms.values()].includes(channel)) {
          return ok(res, { ok: false, error: "channel_not_found" });
        }
        const oldest = Number(body.oldest ?? 0);
        const limit = Math.min(Number(body.limit ?? 100), 999);
        const start = Number(body.cursor ?? 0);
        const withMetadata = String(body.include_all_metadata) === "true";
        // Like Slack's, history lists a thread's first message only, not its replies.
        const inChannel = this.messages
          .filter((m) => m.channel === channel && Number(m.ts) > oldest && m.thread_ts === undefined)
          .sort((a, b) => Number(b.ts) - Number(a.ts));
        const page = inChannel.slice(start, start + limit).map((m) => ({
          type: "message",
          ts: m.ts,
          text: m.text,
          ...(withMetadata && m.metadata ? { metadata: m.metadata } : {}),
        }));
        const more = start + limit < inChannel.length;
        return ok(res, {
          ok: true,
          messages: page,
          has_more: more,
          response_metadata: { next_cursor: more ? String(start + limit) : "" },
        });
      }
      case "conversations.replies": {
        // The thread's first message, then its replies, oldest first.
        const root = this.messages.find((m) => m.channel === body.channel && m.ts === body.ts);
        if (!root) return ok(res, { ok: false, error: "thread_not_found" });
        const oldest = Number(body.oldest ?? 0);
        const limit = Math.min(Number(body.limit ?? 100), 999);
        const start = Number(body.cursor ?? 0);
        const withMetadata = String(body.include_all_metadata) === "true";
        const thread = [root, ...this.messages.filter((m) => m.thread_ts === root.ts)].filter(
          (m) => m === root || Number(m.ts) > oldest,
        );
        const page = thread.slice(start, start + limit).map((m) => ({
          type: "message",
          ts: m.ts,
          text: m.text,
          ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
          ...(withMetadata && m.metadata ? { metadata: m.metadata } : {}),
        }));
        const more = start + limit < thread.length;
        return ok(res, {
          ok: true,
          messages: page,
          has_more: more,
          response_metadata: { next_cursor: more ? String(start + limit) : "" },
        });
      }
      default:
        return ok(res, { ok: false, error: "unknown_method" });
    }
  }
}

function parseJson(value: unknown): unknown {
  if (value === undefined) return undefined;
  return typeof value === "string" ? JSON.parse(value) : value;
}

function parseBlocks(value: unknown): unknown[] | undefined {
  if (value === undefined) return undefined;
  return (typeof value === "string" ? JSON.parse(value) : value) as unknown[];
}

function ok(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
