/**
 * The event log in both profiles: increasing ids, reads after an id (exclusive), the newest N, at least
 * `keep` events kept (the Last-Event-ID promise), a gap reported once older events were trimmed, forged ids
 * refused, and a waiter woken by an append from another connection (another process).
 */
import { randomUUID } from "node:crypto";
import { DatabaseSync } from "node:sqlite";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EventLog, InvalidEventIdError } from "../store/event-log.ts";
import { RedisEventLog } from "../store/redis-event-log.ts";
import { SqliteEventLog } from "../store/sqlite-event-log.ts";
import { startRedis, type TestRedis } from "./helpers/redis-server.ts";

let server: TestRedis;
const clients: Redis[] = [];
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await server?.stop();
});

interface Pair {
  log: EventLog;
  /** The same log through another connection. */
  other: EventLog;
}

const FACTORIES: Array<{ name: string; open: (keep: number) => Pair }> = [
  {
    name: "sqlite",
    open: (keep) => {
      const db = new DatabaseSync(":memory:");
      return {
        log: new SqliteEventLog({ db, keep, pollMs: 10 }),
        other: new SqliteEventLog({ db, keep, pollMs: 10 }),
      };
    },
  },
  {
    name: "redis",
    open: (keep) => {
      const prefix = `t-${randomUUID()}`;
      const a = new Redis(server.url);
      const b = new Redis(server.url);
      clients.push(a, b);
      return {
        log: new RedisEventLog({ redis: a, prefix, keep }),
        other: new RedisEventLog({ redis: b, prefix, keep }),
      };
    },
  },
];

const events = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ type: "t", n: from + i }));

describe.each(FACTORIES)("event log: $name", ({ open }) => {
  it("reads after an id, exclusive, and the newest N, in order", async () => {
    const { log } = open(1000);
    const start = await log.lastId();
    await log.append(events(0, 3));
    await log.append(events(3, 2));
    const all = await log.readAfter(start, 100);
    expect(all.gap).toBe(false);
    expect(all.events.map((e) => e.data.n)).toEqual([0, 1, 2, 3, 4]);
    expect(new Set(all.events.map((e) => e.id)).size).toBe(5);
    const second = all.events[1]?.id as string;
    expect((await log.readAfter(second, 100)).events.map((e) => e.data.n)).toEqual([2, 3, 4]);
    expect((await log.readAfter(second, 2)).events.map((e) => e.data.n)).toEqual([2, 3]);
    expect((await log.readLast(2)).map((e) => e.data.n)).toEqual([3, 4]);
    expect(await log.lastId()).toBe(all.events.at(-1)?.id);
    await expect(log.readAfter("forged", 10)).rejects.toBeInstanceOf(InvalidEventIdError);
  });

  it("keeps at least `keep` events and reports a gap to a reader left further behind", async () => {
    const { log } = open(1000);
    const start = await log.lastId();
    await log.append(events(0, 1));
    const firstId = (await log.readAfter(start, 1)).events[0]?.id as string;
    // One event per write: the Redis log keeps `keep` entries (writes), each holding a batch.
    for (let i = 1; i < 1500; i++) await log.append(events(i, 1));
    const lastThousand = await log.readLast(1000);
    expect(lastThousand).toHaveLength(1000);
    const fromThere = await log.readAfter(lastThousand[0]?.id as string, 1000);
    expect(fromThere.gap).toBe(false);
    expect(fromThere.events).toHaveLength(999);
    const behind = await log.readAfter(firstId, 10);
    expect(behind.gap).toBe(true);
  });

  it("wakes a waiter when another connection appends", async () => {
    const { log, other } = open(1000);
    const seen = await log.lastId();
    const waiting = log.waitAfter(seen, 10_000);
    const started = Date.now();
    await other.append(events(0, 1));
    await waiting;
    // Well before the 10 s timeout: the append woke it (a hang guard, not a speed check).
    expect(Date.now() - started).toBeLessThan(9000);
    expect((await log.readAfter(seen, 10)).events).toHaveLength(1);
    await log.close();
    await other.close();
  });
});
