/**
 * Over 300 lines because it is the whole Slack adapter of the Notifier port (post, update, threads, the metadata lookup) behind one retry policy.
 */
import {
  type ChatPostMessageArguments,
  ErrorCode,
  LogLevel,
  type Logger as SlackLogger,
  WebClient,
} from "@slack/web-api";
import type { Logger, Notifier, OwnerMessage, PostedMessage } from "../ports.ts";
import {
  classifyHttpStatus,
  type ErrorClassification,
  isTimeoutError,
  type PolicyOverrides,
  parseRetryAfter,
  VendorCaller,
  type VendorPolicy,
  vendorPolicy,
} from "../resilience.ts";

export interface SlackNotifierOptions {
  /** Bot token (xoxb-...). */
  token: string;
  /** Web API base; tests point it at a loopback fake. Default https://slack.com/api/. */
  slackApiUrl?: string;
  /** Shared per-vendor caller; must be built from `slackPolicy()` (see the constructor). */
  caller?: VendorCaller;
  /** Where a message goes when it names no channel and the owner has no Slack user. */
  defaultChannel?: string;
  /** Receives the SDK's warnings (never its debug output, which echoes request bodies). */
  logger?: Logger;
}

/** The metadata event type LeadGraph's messages carry; the payload names the lead and the effect. */
export const MESSAGE_EVENT_TYPE = "leadgraph_lead";

/** How far back `findPosted` pages through a channel's history: 5 pages of 200 messages. */
const HISTORY_PAGES = 5;
const HISTORY_PAGE_SIZE = 200;

/** Our Block type is kept loose on purpose (ports.ts); the SDK's is Block Kit's union. */
type SlackBlocks = Extract<ChatPostMessageArguments, { blocks: unknown }>["blocks"];

/** The message names no channel, the owner is not in Slack, and no default channel is set. */
export class NoSlackChannelError extends Error {
  override readonly name = "NoSlackChannelError";
  readonly code = "no_channel";
}

/** Platform errors (HTTP 200, ok:false) that mean Slack-side trouble rather than a bad request. */
const serverSideErrors = new Set(["internal_error", "fatal_error", "service_unavailable", "request_timeout"]);

/** How Slack failures are retried; exported so the registry can build the shared caller. */
export function classifySlackError(err: unknown): ErrorClassification {
  const e = err as {
    code?: unknown;
    retryAfter?: unknown;
    statusCode?: unknown;
    headers?: unknown;
    data?: unknown;
  };
  switch (e?.code) {
    case ErrorCode.RateLimitedError:
      return classifyHttpStatus(429, typeof e.retryAfter === "number" ? e.retryAfter * 1000 : undefined);
    case ErrorCode.HTTPError: {
      const headers = (e.headers ?? {}) as Record<string, string>;
      return classifyHttpStatus(
        typeof e.statusCode === "number" ? e.statusCode : undefined,
        parseRetryAfter(headers["retry-after"]),
      );
    }
    case ErrorCode.PlatformError: {
      const code = (e.data as { error?: unknown } | undefined)?.error;
      if (code === "ratelimited")
        return { retryable: true, tripsCircuit: false, code: "rate_limited", status: 200 };
      if (typeof code === "string" && serverSideErrors.has(code))
        return { retryable: true, tripsCircuit: true, code: "http", status: 200 };
      return { retryable: false, tripsCircuit: false, code: "http", status: 200 };
    }
    default:
      if (isTimeoutError(err)) return { retryable: true, tripsCircuit: true, code: "timeout" };
      return { retryable: true, tripsCircuit: true, code: "network" };
  }
}

export function slackPolicy(overrides: PolicyOverrides = {}): VendorPolicy {
  return vendorPolicy("slack", classifySlackError, overrides);
}

/**
 * The SDK's request errors say only "A request error occurred: fetch failed". The message gains the host
 * and the socket's error code (`slack.com: ECONNREFUSED`), never the token (it travels in a header); the
 * error object itself is kept, since the retry policy classifies it by its code.
 */
function namingHost(err: unknown, host: string): never {
  const e = err as { code?: unknown; original?: { cause?: { code?: unknown; message?: unknown } } };
  if (err instanceof Error && e.code === ErrorCode.RequestError) {
    const cause = e.original?.cause;
    const detail =
      typeof cause?.code === "string" ? cause.code : typeof cause?.message === "string" ? cause.message : "";
    err.message = `${err.message} (${host}${detail ? `: ${detail}` : ""})`;
  }
  throw err;
}

/** Forwards the SDK's warnings and errors; drops debug/info, which log request bodies (emails). */
function quietLogger(logger: Logger | undefined): SlackLogger {
  let level = LogLevel.WARN;
  const forward =
    (kind: "warn" | "error") =>
    (...msg: unknown[]) =>
      logger?.[kind]({ vendor: "slack", sdk: msg.map(String).join(" ") }, "slack sdk");
  return {
    debug: () => {},
    info: () => {},
    warn: forward("warn"),
    error: forward("error"),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

/** Owner messages through Slack: a DM to the owner, else the message's or the default channel. */
export class SlackNotifier implements Notifier {
  readonly name = "slack";
  readonly #client: WebClient;
  readonly #caller: VendorCaller;
  readonly #defaultChannel: string | undefined;
  /** Where the Web API is, for error messages: a network failure otherwise reads only "fetch failed". */
  readonly #host: string;
  /** DM channel per owner email: one lookup and one open per owner per process. */
  readonly #dmChannels = new Map<string, Promise<string | null>>();
  /** Email (lower case) → Slack user id, as found; misses and failures are not kept. */
  readonly #userIds = new Map<string, Promise<string | null>>();

  constructor(options: SlackNotifierOptions) {
    this.#caller = options.caller ?? new VendorCaller(slackPolicy());
    if (this.#caller.policy.classify !== classifySlackError) {
      // Another classify would not read the SDK's errors (a platform error such as channel_not_found
      // would be retried as a network failure).
      throw new TypeError("SlackNotifier needs a VendorCaller built from slackPolicy()");
    }
    this.#defaultChannel = options.defaultChannel;
    this.#host = new URL(options.slackApiUrl ?? "https://slack.com/api/").host;
    this.#client = new WebClient(options.token, {
      ...(options.slackApiUrl === undefined ? {} : { slackApiUrl: options.slackApiUrl }),
      retryConfig: { retries: 0 },
      // A 429 comes back as an error at once; the VendorCaller waits out Retry-After and retries.
      rejectRateLimitedCalls: true,
      // The SDK aborts its fetch at the caller's deadline, so an abandoned attempt frees its socket.
      timeout: this.#caller.policy.timeoutMs,
      logger: quietLogger(options.logger),
    });
  }

  async send(message: OwnerMessage, previous?: PostedMessage): Promise<PostedMessage> {
    const blocks = message.blocks as unknown as SlackBlocks;
    if (previous) {
      // Same message, new content (e.g. a retried summary): edit it rather than post again.
      // Setting a message to the same content twice is harmless, so an update gets full retries.
      const updated = await this.#idempotent("chat.update", () =>
        this.#client.chat.update({
          channel: previous.channel,
          ts: previous.messageId,
          text: message.text,
          // Always sent: chat.update keeps the old blocks when the field is absent.
          blocks,
        }),
      );
      return { channel: updated.channel ?? previous.channel, messageId: updated.ts ?? previous.messageId };
    }
    // A reply goes into the thread of the message it answers (a reminder), wherever that was posted.
    const channel = message.thread?.channel ?? (await this.#channelFor(message));
    const posted = await this.#post("chat.postMessage", () =>
      this.#client.chat.postMessage({
        channel,
        text: message.text,
        // Nothing to render: send the text alone rather than an empty block list.
        ...(message.blocks.length > 0 ? { blocks } : {}),
        // What `findPosted` looks for after a crash between this post and the ledger's record of it.
        ...(message.effectKey
          ? {
              metadata: {
                event_type: MESSAGE_EVENT_TYPE,
                event_payload: { leadId: message.leadId, effect: message.effectKey },
              },
            }
          : {}),
        ...(message.thread ? { thread_ts: message.thread.messageId } : {}),
      }),
    );
    if (!posted.ts) throw new TypeError("slack: chat.postMessage answered without a ts");
    return { channel: posted.channel ?? channel, messageId: posted.ts };
  }

  /**
   * Pages back through the target channel's history since `after` (conversations.history with
   * include_all_metadata; needs the history scope of the channel type: im:history for DMs, channels:history
   * or groups:history for queue channels) for the message carrying `message.effectKey` in its metadata.
   * A reply is looked for among its thread's replies (conversations.replies), which history does not list.
   */
  async findPosted(message: OwnerMessage, after: Date): Promise<PostedMessage | null> {
    const effect = message.effectKey;
    if (!effect) return null;
    const thread = message.thread;
    const channel = thread?.channel ?? (await this.#channelFor(message));
    const oldest = (after.getTime() / 1000).toFixed(6);
    let cursor: string | undefined;
    for (let page = 0; page < HISTORY_PAGES; page++) {
      const from = cursor;
      const request = {
        channel,
        oldest,
        limit: HISTORY_PAGE_SIZE,
        include_all_metadata: true,
        ...(from ? { cursor: from } : {}),
      };
      const history = thread
        ? await this.#idempotent("conversations.replies", () =>
            this.#client.conversations.replies({ ...request, ts: thread.messageId }),
          )
        : await this.#idempotent("conversations.history", () => this.#client.conversations.history(request));
      for (const m of history.messages ?? []) {
        const payload = m.metadata?.event_payload as { leadId?: unknown; effect?: unknown } | undefined;
        if (m.ts && m.metadata?.event_type === MESSAGE_EVENT_TYPE && payload?.effect === effect)
          return { channel, messageId: m.ts };
      }
      cursor = history.response_metadata?.next_cursor || undefined;
      if (!history.has_more || !cursor) return null;
    }
    return null;
  }

  async #channelFor(message: OwnerMessage): Promise<string> {
    if (message.channel) return message.channel;
    const dm = message.ownerEmail ? await this.#dmChannel(message.ownerEmail) : null;
    if (dm) return dm;
    if (this.#defaultChannel) return this.#defaultChannel;
    throw new NoSlackChannelError(
      `slack: lead ${message.leadId} has no channel, its owner has no Slack user, and no default channel is set`,
    );
  }

  /** The owner's DM channel id, or null when no Slack user has that email. */
  #dmChannel(email: string): Promise<string | null> {
    return cachedFound(this.#dmChannels, email.trim().toLowerCase(), (key) => this.#openDm(key));
  }

  /**
   * The Slack user with this email (users.lookupByEmail), null when there is none: the person a DM to the
   * owner reaches, and so the one whose clicks on it count (LeadService.act).
   */
  userIdOf(email: string): Promise<string | null> {
    return cachedFound(this.#userIds, email.trim().toLowerCase(), (key) => this.#lookupUser(key));
  }

  async #lookupUser(email: string): Promise<string | null> {
    try {
      const found = await this.#idempotent("users.lookupByEmail", () =>
        this.#client.users.lookupByEmail({ email }),
      );
      return found.user?.id ?? null;
    } catch (err) {
      const cause =
        err instanceof Error ? (err.cause as { data?: { error?: unknown } } | undefined) : undefined;
      if (cause?.data?.error === "users_not_found") return null;
      throw err;
    }
  }

  async #openDm(email: string): Promise<string | null> {
    const user = await this.userIdOf(email);
    if (!user) return null;
    const opened = await this.#idempotent("conversations.open", () =>
      this.#client.conversations.open({ users: user }),
    );
    return opened.channel?.id ?? null;
  }

  /** Calls that are safe to repeat: every retryable failure is retried. */
  #idempotent<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    // The SDK takes no per-call signal; its own `timeout` cancels the fetch, the caller's race ends our wait.
    return this.#caller.call(operation, () => fn().catch((err: unknown) => namingHost(err, this.#host)));
  }

  /**
   * A new message: chat.postMessage has no idempotency key, so a second attempt after a 5xx, a
   * reset connection or a timeout can put the same lead in front of an AE twice (the ledger guards
   * crashes, not retries inside one call). Slack's own client retries are off (`retries: 0`), and
   * the caller retries a post only on a 429 (Slack rejected it before doing anything, and says when
   * to come back) or a connection that was never made (refused, DNS: no byte reached Slack).
   */
  #post<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return this.#caller.call(operation, () => fn().catch((err: unknown) => namingHost(err, this.#host)), {
      idempotent: false,
    });
  }
}

/**
 * `find(key)` once per key while it finds something: a miss (null) or a failure is forgotten, so an owner
 * added to Slack later, or a transient error, is looked up again next time.
 */
function cachedFound(
  cache: Map<string, Promise<string | null>>,
  key: string,
  find: (key: string) => Promise<string | null>,
): Promise<string | null> {
  const cached = cache.get(key);
  if (cached) return cached;
  const pending = find(key);
  cache.set(key, pending);
  pending.then(
    (found) => {
      if (found === null) cache.delete(key);
    },
    () => cache.delete(key),
  );
  return pending;
}
