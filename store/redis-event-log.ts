/**
 * The Redis profile's event log: one stream, `<prefix>:events`. Each entry holds a batch of events (one
 * XADD per batch, however many events: the lead path's command count stays low), trimmed with
 * `MAXLEN ~ keep`, which keeps at least `keep` entries and so at least `keep` events. An event's id is its
 * entry id and its place in the entry, `<ms>-<seq>.<index>`. Readers wait on XREAD BLOCK on a connection
 * of their own, opened on first use.
 */

import {
  DEFAULT_EVENTS_KEEP,
  type EventLog,
  type EventPage,
  InvalidEventIdError,
  type LoggedEvent,
} from "./event-log.ts";
import { duplicateRedis, type RedisClient } from "./redis-client.ts";

export interface RedisEventLogOptions {
  /** The lead store's client; commands that block use a duplicate of it. */
  redis: RedisClient;
  prefix?: string;
  keep?: number;
}

interface EventId {
  entry: string;
  ms: number;
  seq: number;
  index: number;
}

/** The id a reader holds before any event. */
const ORIGIN = "0-0.0";

function parseId(id: string): EventId {
  const match = /^(\d{1,16})-(\d{1,16})\.(\d{1,6})$/.exec(id);
  if (!match) throw new InvalidEventIdError(id);
  return {
    entry: `${match[1]}-${match[2]}`,
    ms: Number(match[1]),
    seq: Number(match[2]),
    index: Number(match[3]),
  };
}

function compareEntries(a: string, b: string): number {
  const [am = 0, as = 0] = a.split("-").map(Number);
  const [bm = 0, bs = 0] = b.split("-").map(Number);
  return am - bm || as - bs;
}

type StreamEntry = [id: string, fields: string[]];

function entryEvents(entry: StreamEntry): LoggedEvent[] {
  const [entryId, fields] = entry;
  const json = fields[fields.indexOf("e") + 1];
  const batch = json === undefined ? [] : (JSON.parse(json) as Array<Record<string, unknown>>);
  return batch.map((data, index) => ({ id: `${entryId}.${index}`, data }));
}

export class RedisEventLog implements EventLog {
  readonly name = "redis-stream";
  readonly #redis: RedisClient;
  readonly #key: string;
  readonly #keep: number;
  #blocking: RedisClient | undefined;
  #closed = false;

  constructor(options: RedisEventLogOptions) {
    this.#redis = options.redis;
    this.#key = `${options.prefix ?? "lg"}:events`;
    this.#keep = options.keep ?? DEFAULT_EVENTS_KEEP;
  }

  async append(events: ReadonlyArray<Record<string, unknown>>): Promise<void> {
    if (events.length === 0) return;
    await this.#redis.xadd(this.#key, "MAXLEN", "~", this.#keep, "*", "e", JSON.stringify(events));
  }

  async readAfter(afterId: string, limit: number): Promise<EventPage> {
    const after = parseId(afterId);
    const replies = await this.#redis
      .pipeline()
      .xrange(this.#key, after.entry, "+", "COUNT", limit + 1)
      .xrange(this.#key, "-", "+", "COUNT", 1)
      .xrevrange(this.#key, "+", "-", "COUNT", 1)
      .exec();
    const [range, oldest, newest] = (replies ?? []).map(([err, value]) => {
      if (err) throw err;
      return value as StreamEntry[];
    });
    const newestId = newest?.[0]?.[0];
    if (after.entry !== "0-0" && (newestId === undefined || compareEntries(after.entry, newestId) > 0))
      throw new InvalidEventIdError(afterId);
    const events = (range ?? [])
      .flatMap(entryEvents)
      .filter((event) => {
        const id = parseId(event.id);
        return id.entry !== after.entry || id.index > after.index;
      })
      .slice(0, limit);
    const oldestId = oldest?.[0]?.[0];
    const gap = after.entry !== "0-0" && oldestId !== undefined && compareEntries(after.entry, oldestId) < 0;
    return { events, gap };
  }

  async readLast(count: number): Promise<LoggedEvent[]> {
    // An entry holds at least one event, so `count` entries are enough.
    const entries = (await this.#redis.xrevrange(this.#key, "+", "-", "COUNT", count)) as StreamEntry[];
    return entries.reverse().flatMap(entryEvents).slice(-count);
  }

  async lastId(): Promise<string> {
    const [entry] = (await this.#redis.xrevrange(this.#key, "+", "-", "COUNT", 1)) as StreamEntry[];
    if (!entry) return ORIGIN;
    const events = entryEvents(entry);
    return events.at(-1)?.id ?? `${entry[0]}.0`;
  }

  async waitAfter(afterId: string, timeoutMs: number): Promise<void> {
    const after = parseId(afterId);
    const last = parseId(await this.lastId());
    if (
      compareEntries(last.entry, after.entry) > 0 ||
      (last.entry === after.entry && last.index > after.index)
    )
      return;
    if (this.#closed) return;
    this.#blocking ??= duplicateRedis(this.#redis, { maxRetriesPerRequest: null });
    try {
      await this.#blocking.xread(
        "COUNT",
        1,
        "BLOCK",
        Math.max(1, Math.round(timeoutMs)),
        "STREAMS",
        this.#key,
        after.entry,
      );
    } catch (err) {
      // Closing disconnects the blocked reader; anything else is the caller's to retry.
      if (!this.#closed) throw err;
    }
  }

  async trimBefore(cutoff: Date): Promise<void> {
    // Entry ids start with the server's time of the write.
    await this.#redis.xtrim(this.#key, "MINID", Math.max(0, Math.floor(cutoff.getTime())));
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#blocking?.disconnect();
  }
}
