import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import type { Counters } from "../ports.ts";
import {
  compareIds,
  DEFAULT_IDEMPOTENCY_TTL_SECONDS,
  decodeCursor,
  emptyCounts,
  encodeCursor,
  type IdempotencyClaim,
  LEAD_STATUSES,
  type LeadError,
  LeadExistsError,
  LeadNotFoundError,
  type LeadPage,
  type LeadRecord,
  type LeadStatus,
  type LeadStore,
  LeasedLedger,
  type LeaseOptions,
  type LedgerBackend,
  type ListLeadsOptions,
  listLimit,
  type NewLead,
  receivedAtMs,
  type StatusCounts,
  type TimelineEntry,
  ttlMs,
  withDuration,
} from "./lead-store.ts";

export interface RedisLeadStoreOptions {
  /** A client shared with the queue and checkpointer (left open by `close()`), or a URL the store connects to. */
  redis: Redis | string;
  /** Key prefix; default "lg". For Redis Cluster, wrap it in a hash tag ("{lg}"): status indexes and records change together in one script. */
  prefix?: string;
  /** `ping()` answers false after this long. Default 1000 ms. */
  pingTimeoutMs?: number;
  ledger?: LeaseOptions;
  clock?: () => Date;
}

/** A script run by EVALSHA, falling back to EVAL once per connection when the server has not cached it. */
class LuaScript {
  readonly #source: string;
  readonly #sha: string;

  constructor(source: string) {
    this.#source = source;
    this.#sha = createHash("sha1").update(source).digest("hex");
  }

  async run(redis: Redis, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.#sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      return redis.eval(this.#source, keys.length, ...keys, ...args);
    }
  }
}

// KEYS: lead hash, all-leads index, queued index. ARGV: leadId, receivedAt ms, field/value pairs.
const CREATE_LEAD = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 1
`);

// A status change must move the lead between index sets in the same atomic step as the record, and needs
// the record's receivedAt for the score: MULTI cannot read, so this is a script.
// KEYS: lead hash, then one index per status in LEAD_STATUSES order. ARGV: leadId, new status position
// (1-based), attempts increment, field/value pairs.
const SET_STATUS = new LuaScript(`
local ms = redis.call('HGET', KEYS[1], 'receivedAtMs')
if not ms then return 0 end
for i = 2, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
redis.call('ZADD', KEYS[1 + tonumber(ARGV[2])], ms, ARGV[1])
if ARGV[3] ~= '0' then redis.call('HINCRBY', KEYS[1], 'attempts', ARGV[3]) end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
return 1
`);

// KEYS: lead hash, timeline list. ARGV: entry JSON.
const APPEND_TIMELINE = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1])
return 1
`);

// KEYS: key. ARGV: expected value.
const DELETE_IF_EQUALS = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

// KEYS: result, lock. ARGV: token, lease ms.
const LEDGER_CLAIM = new LuaScript(`
local done = redis.call('GET', KEYS[1])
if done then return {1, done} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2} end
return {0}
`);

// KEYS: result, lock. ARGV: token, result JSON. The first result wins over a late holder whose lease ran out.
const LEDGER_COMMIT = new LuaScript(`
redis.call('SET', KEYS[1], ARGV[2], 'NX')
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return redis.call('GET', KEYS[1])
`);

// KEYS: lock. ARGV: token, lease ms.
const LEDGER_RENEW = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`);

/**
 * The Redis lead store. Keys under `prefix`:
 * `lead:<id>` hash, `timeline:<id>` list, `leads` and `leads:<status>` sorted sets scored by receivedAt ms,
 * `idem:<key>`, `counter:<key>`, `ledger:<key>` and `ledger-lock:<key>` strings.
 */
export class RedisLeadStore implements LeadStore {
  readonly name = "redis";
  readonly counters: Counters;
  readonly ledger: LeasedLedger;

  readonly #redis: Redis;
  readonly #ownsRedis: boolean;
  readonly #prefix: string;
  readonly #pingTimeoutMs: number;
  readonly #clock: () => Date;

  constructor(options: RedisLeadStoreOptions) {
    if (typeof options.redis === "string") {
      this.#redis = new Redis(options.redis);
      this.#ownsRedis = true;
    } else {
      this.#redis = options.redis;
      this.#ownsRedis = false;
    }
    this.#prefix = options.prefix ?? "lg";
    this.#pingTimeoutMs = options.pingTimeoutMs ?? 1000;
    this.#clock = options.clock ?? (() => new Date());
    this.counters = {
      increment: async (key, ttlSeconds) => this.#increment(key, ttlSeconds),
      get: async (key) => Number((await this.#redis.get(this.#key("counter", key))) ?? 0),
    };
    this.ledger = new LeasedLedger(this.#ledgerBackend(), options.ledger);
  }

  async createLead(lead: NewLead): Promise<void> {
    const ms = receivedAtMs(lead.receivedAt);
    const fields: string[] = [
      "leadId",
      lead.leadId,
      "status",
      "queued",
      "receivedAt",
      lead.receivedAt,
      "receivedAtMs",
      String(ms),
      "updatedAt",
      this.#clock().toISOString(),
      "attempts",
      "0",
      "payload",
      JSON.stringify(lead.payload ?? null),
    ];
    if (lead.source !== undefined) fields.push("source", lead.source);
    if (lead.idempotencyKey !== undefined) fields.push("idempotencyKey", lead.idempotencyKey);
    const created = await CREATE_LEAD.run(
      this.#redis,
      [this.#key("lead", lead.leadId), this.#index(), this.#index("queued")],
      [lead.leadId, ms, ...fields],
    );
    if (created !== 1) throw new LeadExistsError(lead.leadId);
  }

  async claimIdempotencyKey(
    key: string,
    leadId: string,
    ttlSeconds = DEFAULT_IDEMPOTENCY_TTL_SECONDS,
  ): Promise<IdempotencyClaim> {
    const redisKey = this.#key("idem", key);
    // The GET inside the transaction names the holder without a second round trip (SET NX GET needs Redis 7).
    const [set, holder] = execResults(
      await this.#redis.multi().set(redisKey, leadId, "PX", ttlMs(ttlSeconds), "NX").get(redisKey).exec(),
    );
    return set === "OK" ? { claimed: true } : { claimed: false, leadId: String(holder) };
  }

  async releaseIdempotencyKey(key: string, leadId: string): Promise<void> {
    await DELETE_IF_EQUALS.run(this.#redis, [this.#key("idem", key)], [leadId]);
  }

  async getLead(leadId: string): Promise<LeadRecord | null> {
    const [hash, timeline] = execResults(
      await this.#redis
        .multi()
        .hgetall(this.#key("lead", leadId))
        .lrange(this.#key("timeline", leadId), 0, -1)
        .exec(),
    );
    return toRecord(hash as Record<string, string>, timeline as string[]);
  }

  async listLeads(options: ListLeadsOptions = {}): Promise<LeadPage> {
    const limit = listLimit(options.limit);
    const index = this.#index(options.status);
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    // One extra id tells whether there is a next page.
    let ids: Array<{ id: string; ms: number }>;
    if (!after) {
      ids = pairs(await this.#redis.zrevrange(index, 0, limit, "WITHSCORES"));
    } else {
      // Equal scores are ordered by member bytes, which Lua compares by locale; the tie-break happens here.
      const [tied, older] = execResults(
        await this.#redis
          .multi()
          .zrevrangebyscore(index, after.ms, after.ms)
          .zrevrangebyscore(index, `(${after.ms}`, "-inf", "WITHSCORES", "LIMIT", 0, limit + 1)
          .exec(),
      );
      ids = [
        ...(tied as string[])
          .filter((id) => compareIds(id, after.leadId) < 0)
          .map((id) => ({ id, ms: after.ms })),
        ...pairs(older as string[]),
      ].slice(0, limit + 1);
    }
    const pageIds = ids.slice(0, limit);
    if (pageIds.length === 0) return { leads: [] };
    const reads = this.#redis.pipeline();
    for (const { id } of pageIds) {
      reads.hgetall(this.#key("lead", id)).lrange(this.#key("timeline", id), 0, -1);
    }
    const results = execResults(await reads.exec());
    const leads: LeadRecord[] = [];
    for (let i = 0; i < pageIds.length; i++) {
      const record = toRecord(results[2 * i] as Record<string, string>, results[2 * i + 1] as string[]);
      if (record) leads.push(record);
    }
    const last = pageIds.at(-1);
    if (ids.length <= limit || !last) return { leads };
    return { leads, nextCursor: encodeCursor({ ms: last.ms, leadId: last.id }) };
  }

  async countByStatus(): Promise<StatusCounts> {
    const batch = this.#redis.pipeline();
    for (const status of LEAD_STATUSES) batch.zcard(this.#index(status));
    const sizes = execResults(await batch.exec());
    const counts = emptyCounts();
    LEAD_STATUSES.forEach((status, i) => {
      counts[status] = Number(sizes[i]);
    });
    return counts;
  }

  async markQueued(leadId: string): Promise<void> {
    await this.#setStatus(leadId, "queued", 0, []);
  }

  async markRunning(leadId: string): Promise<void> {
    await this.#setStatus(leadId, "running", 1, []);
  }

  async markCompleted(leadId: string, result: Record<string, unknown>): Promise<void> {
    await this.#setStatus(leadId, "completed", 0, ["result", JSON.stringify(result)]);
  }

  async markFailed(leadId: string, error: Omit<LeadError, "at">): Promise<void> {
    const lastError: LeadError = { ...error, at: this.#clock().toISOString() };
    await this.#setStatus(leadId, "failed", 0, ["lastError", JSON.stringify(lastError)]);
  }

  async appendTimeline(leadId: string, entry: TimelineEntry): Promise<void> {
    const appended = await APPEND_TIMELINE.run(
      this.#redis,
      [this.#key("lead", leadId), this.#key("timeline", leadId)],
      [JSON.stringify(withDuration(entry))],
    );
    if (appended !== 1) throw new LeadNotFoundError(leadId);
  }

  async ping(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.#pingTimeoutMs);
    });
    try {
      // The offline queue would hold a PING for as long as Redis is down; readiness needs an answer now.
      return await Promise.race([this.#redis.ping().then((reply) => reply === "PONG"), timeout]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (!this.#ownsRedis || this.#redis.status === "end") return;
    try {
      await this.#redis.quit();
    } catch {
      this.#redis.disconnect();
    }
  }

  #key(kind: string, id: string): string {
    return `${this.#prefix}:${kind}:${id}`;
  }

  #index(status?: LeadStatus): string {
    return status === undefined ? `${this.#prefix}:leads` : `${this.#prefix}:leads:${status}`;
  }

  async #setStatus(leadId: string, status: LeadStatus, attempts: number, fields: string[]): Promise<void> {
    const updated = await SET_STATUS.run(
      this.#redis,
      [this.#key("lead", leadId), ...LEAD_STATUSES.map((s) => this.#index(s))],
      [
        leadId,
        LEAD_STATUSES.indexOf(status) + 1,
        attempts,
        "status",
        status,
        "updatedAt",
        this.#clock().toISOString(),
        ...fields,
      ],
    );
    if (updated !== 1) throw new LeadNotFoundError(leadId);
  }

  async #increment(key: string, ttlSeconds?: number): Promise<number> {
    const redisKey = this.#key("counter", key);
    if (ttlSeconds === undefined) return this.#redis.incr(redisKey);
    // SET NX gives the TTL only to a key it creates; EXPIRE NX would do the same but needs Redis 7.
    const [, value] = execResults(
      await this.#redis.multi().set(redisKey, "0", "PX", ttlMs(ttlSeconds), "NX").incr(redisKey).exec(),
    );
    return Number(value);
  }

  #ledgerBackend(): LedgerBackend {
    const keys = (key: string) => [this.#key("ledger", key), this.#key("ledger-lock", key)];
    return {
      claim: async (key, token, leaseMs) => {
        const reply = (await LEDGER_CLAIM.run(this.#redis, keys(key), [token, leaseMs])) as [number, string?];
        if (reply[0] === 1) return { state: "done", json: String(reply[1]) };
        return reply[0] === 2 ? { state: "claimed" } : { state: "busy" };
      },
      commit: async (key, token, json) =>
        String(await LEDGER_COMMIT.run(this.#redis, keys(key), [token, json])),
      release: async (key, token) => {
        await DELETE_IF_EQUALS.run(this.#redis, [this.#key("ledger-lock", key)], [token]);
      },
      renew: async (key, token, leaseMs) =>
        (await LEDGER_RENEW.run(this.#redis, [this.#key("ledger-lock", key)], [token, leaseMs])) === 1,
      read: async (key) => (await this.#redis.get(this.#key("ledger", key))) ?? undefined,
    };
  }
}

/** Unwraps `exec()` replies, throwing the first command error instead of returning it. */
function execResults(replies: Array<[Error | null, unknown]> | null): unknown[] {
  if (replies === null) throw new Error("Redis transaction aborted");
  return replies.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

function pairs(flat: string[]): Array<{ id: string; ms: number }> {
  const out: Array<{ id: string; ms: number }> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push({ id: flat[i]!, ms: Number(flat[i + 1]) });
  return out;
}

function toRecord(hash: Record<string, string>, timeline: string[]): LeadRecord | null {
  if (hash.leadId === undefined) return null;
  const record: LeadRecord = {
    leadId: hash.leadId,
    status: hash.status as LeadStatus,
    receivedAt: String(hash.receivedAt),
    updatedAt: String(hash.updatedAt),
    attempts: Number(hash.attempts),
    payload: JSON.parse(hash.payload ?? "null"),
    timeline: timeline.map((entry) => JSON.parse(entry) as TimelineEntry),
  };
  if (hash.source !== undefined) record.source = hash.source;
  if (hash.lastError !== undefined) record.lastError = JSON.parse(hash.lastError) as LeadError;
  if (hash.idempotencyKey !== undefined) record.idempotencyKey = hash.idempotencyKey;
  if (hash.result !== undefined) record.result = JSON.parse(hash.result) as Record<string, unknown>;
  return record;
}
