/**
 * Over 300 lines because it is one adapter of the LeadStore port (records, search index, idempotency, counters, ledger, route memory) kept beside its key layout; the shared contract test (test/lead-store.contract.ts) holds it to the SQLite one.
 */
import { createHash, randomUUID } from "node:crypto";
import { inflateRawSync } from "node:zlib";
import { personKey } from "../domain/routing/sticky.ts";
import type { Counters, PersonRoute, RouteMemory } from "../domain/types.ts";
import { deflateJson, inflateJson } from "./json-deflate.ts";
import {
  compareIds,
  DEFAULT_IDEMPOTENCY_TTL_SECONDS,
  type DeleteWhen,
  dateBounds,
  decodeCursor,
  emptyCounts,
  encodeCursor,
  facetTerms,
  type IdempotencyClaim,
  LEAD_STATUSES,
  type LeadError,
  LeadExistsError,
  type LeadFacets,
  LeadNotFoundError,
  type LeadPage,
  type LeadRecord,
  type LeadStatus,
  type LeadStore,
  type LeadSummary,
  LeasedLedger,
  type LeaseOptions,
  type LedgerBackend,
  type ListLeadsOptions,
  ledgerKeyParts,
  listLimit,
  type NewLead,
  queryTermGroups,
  receivedAtMs,
  type StatusCounts,
  type TimelineEntry,
  ttlMs,
  withDuration,
} from "./lead-store.ts";
import { clientOf, type RedisClient } from "./redis-client.ts";

export interface RedisLeadStoreOptions {
  /** A client shared with the queue and checkpointer (left open by `close()`), or a URL the store connects to. */
  redis: RedisClient | string;
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

  async run(redis: RedisClient, keys: string[], args: Array<string | number | Buffer>): Promise<unknown> {
    try {
      return await redis.evalsha(this.#sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      return redis.eval(this.#source, keys.length, ...keys, ...args);
    }
  }

  /** As `run`, with string replies as Buffers. */
  async runBuffer(
    redis: RedisClient,
    keys: string[],
    args: Array<string | number | Buffer>,
  ): Promise<unknown> {
    try {
      return await redis.callBuffer("evalsha", this.#sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      return redis.callBuffer("eval", this.#source, keys.length, ...keys, ...args);
    }
  }
}

// JSON fields of a lead (payload, result, last error) this long are stored deflated with the preset JSON
// dictionary (`deflateJson`), behind a 0x02 byte; an earlier version deflated longer ones without it, behind
// 0x01 (JSON text never starts with either): a lead's result summary shrinks to a third.
const DEFLATE_MIN_BYTES = 128;
// Completed leads read per round trip when looking for expired ones.
const EXPIRY_PAGE = 500;
const DEFLATED = 1;
const DEFLATED_WITH_DICTIONARY = 2;

function packJson(value: unknown): string | Buffer {
  const json = JSON.stringify(value ?? null);
  if (json.length < DEFLATE_MIN_BYTES) return json;
  const deflated = deflateJson(Buffer.from(json));
  if (deflated.byteLength >= Buffer.byteLength(json)) return json;
  return Buffer.concat([Buffer.of(DEFLATED_WITH_DICTIONARY), deflated]);
}

function unpackJson(stored: Buffer): unknown {
  const json =
    stored[0] === DEFLATED_WITH_DICTIONARY
      ? inflateJson(stored.subarray(1))
      : stored[0] === DEFLATED
        ? inflateRawSync(stored.subarray(1))
        : stored;
  return JSON.parse(json.toString("utf8"));
}

// KEYS: lead hash, queued index, timeline list, then the lead's term indexes. ARGV: leadId, receivedAt ms,
// field/value pairs. The timeline starts with an empty entry, so appending can be one RPUSHX that fails for
// an unknown lead.
const CREATE_LEAD = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('RPUSH', KEYS[3], '')
for i = 4, #KEYS do redis.call('ZADD', KEYS[i], ARGV[2], ARGV[1]) end
return 1
`);

// A status change must move the lead between index sets in the same atomic step as the record, and needs
// the record's status and receivedAt for that: MULTI cannot read, so these are scripts. KEYS: lead hash,
// then one index per status in LEAD_STATUSES order. The record's status names the one index holding it.
const MOVE_TO = `
local slots = {${LEAD_STATUSES.map((status, i) => `${status} = ${i + 2}`).join(", ")}}
local function moveTo(leadId, from, to, ms)
  if from == to then return end
  local slot = slots[from]
  if slot then
    redis.call('ZREM', KEYS[slot], leadId)
  else
    for i = 2, #KEYS do redis.call('ZREM', KEYS[i], leadId) end
  end
  redis.call('ZADD', KEYS[slots[to]], ms, leadId)
end
`;

// ARGV: leadId, new status, attempts increment, facets JSON ('' keeps them), space-separated terms, term
// key prefix, the lead's ledger key, field/value pairs. New facets replace the lead's terms: the old ones
// come from its 'terms' field (their keys are built here, under the same prefix and so the same hash tag as
// KEYS); record, facets and terms are one HSET. A completed lead drops its last error (the failed steps stay
// in its timeline) and its ledger claims (every effect it made has its result); a lead that starts waiting
// drops the claims of effects that have their result (a claim beside a result is never read again: the
// result answers every later claim), and keeps any other, which still marks an attempt that may have taken
// effect. Only a retrying lead keeps a next attempt time.
const SET_STATUS = new LuaScript(`${MOVE_TO}
local lead = redis.call('HMGET', KEYS[1], 'status', 'receivedAtMs', 'attempts', 'terms', 'nextAttemptAt', 'lastError')
if not lead[2] then return 0 end
moveTo(ARGV[1], lead[1], ARGV[2], lead[2])
local attempts = tonumber(lead[3] or '0') + tonumber(ARGV[3])
if ARGV[4] ~= '' then
  local old, new = {}, {}
  for t in string.gmatch(lead[4] or '', '%S+') do old[t] = true end
  for t in string.gmatch(ARGV[5], '%S+') do new[t] = true end
  for t in pairs(old) do if not new[t] then redis.call('ZREM', ARGV[6] .. t, ARGV[1]) end end
  for t in pairs(new) do if not old[t] then redis.call('ZADD', ARGV[6] .. t, lead[2], ARGV[1]) end end
  redis.call('HSET', KEYS[1], 'status', ARGV[2], 'attempts', attempts, 'facets', ARGV[4], 'terms', ARGV[5], unpack(ARGV, 8))
else
  redis.call('HSET', KEYS[1], 'status', ARGV[2], 'attempts', attempts, unpack(ARGV, 8))
end
if ARGV[2] == 'completed' then
  local claims = {}
  for _, field in ipairs(redis.call('HKEYS', ARGV[7])) do
    if string.sub(field, 1, 1) == '?' then claims[#claims + 1] = field end
  end
  if #claims > 0 then redis.call('HDEL', ARGV[7], unpack(claims)) end
elseif ARGV[2] == 'awaiting' then
  local ledger = redis.call('HGETALL', ARGV[7])
  local results = {}
  for i = 1, #ledger, 2 do
    if string.sub(ledger[i], 1, 1) ~= '?' and string.sub(ledger[i + 1], 1, 1) ~= '?' then results[ledger[i]] = true end
  end
  local claims = {}
  for i = 1, #ledger, 2 do
    local field = ledger[i]
    if string.sub(field, 1, 1) == '?' and results[string.sub(field, 2)] then claims[#claims + 1] = field end
  end
  if #claims > 0 then redis.call('HDEL', ARGV[7], unpack(claims)) end
end
local settled = ARGV[2] == 'completed' or ARGV[2] == 'awaiting'
if settled and (lead[5] or lead[6]) then redis.call('HDEL', KEYS[1], 'lastError', 'nextAttemptAt')
elseif ARGV[2] ~= 'retrying' and not settled and lead[5] then redis.call('HDEL', KEYS[1], 'nextAttemptAt') end
return 1
`);

// ARGV: leadId, updatedAt. Returns the hash as it was (nil for an unknown lead); a completed or awaiting one
// stays so.
const BEGIN_ATTEMPT = new LuaScript(`${MOVE_TO}
local hash = redis.call('HGETALL', KEYS[1])
if #hash == 0 then return false end
local lead = {}
for i = 1, #hash, 2 do lead[hash[i]] = hash[i + 1] end
if lead.status == 'completed' or lead.status == 'awaiting' then return hash end
moveTo(ARGV[1], lead.status, 'running', lead.receivedAtMs)
local attempts = tonumber(lead.attempts or '0') + 1
redis.call('HSET', KEYS[1], 'status', 'running', 'attempts', attempts, 'updatedAt', ARGV[2])
if lead.nextAttemptAt then redis.call('HDEL', KEYS[1], 'nextAttemptAt') end
return hash
`);

// For a lead whose timeline list is missing (created before the list started with an empty entry).
// KEYS: lead hash, timeline list. ARGV: entry JSON.
const APPEND_TIMELINE = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('RPUSH', KEYS[2], '') end
redis.call('RPUSH', KEYS[2], ARGV[1])
return 1
`);

// KEYS: key. ARGV: expected value.
const DELETE_IF_EQUALS = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

// The ledger: one hash per lead, `ledger:<leadId>`, so a lead's effects go with it in one DEL. Per effect,
// field `<effect>` holds its result (JSON, never starting with "?"), written once by HSETNX (the first result
// wins), and field `?<effect>` its latest claim "?<lease end ms>:<token>", leased by the server's clock. A
// claim whose lease has ended (its effect failed, or its worker died) stays as the mark of an attempt that
// may have taken effect, until the lead completes (SET_STATUS drops the claims). Before the split the claim
// sat in the result's field: such a claim still counts. KEYS: the hash. ARGV: effect, token, lease ms.
// Returns {"done", result} | {"busy"} | {"claimed", 0|1 (an earlier attempt's claim was there)}.
const SERVER_MS = `
local function serverMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function leaseEnd(claim) return tonumber(string.match(claim, '^%?(%d+):')) or 0 end
`;

const LEDGER_CLAIM = new LuaScript(`${SERVER_MS}
local stored = redis.call('HMGET', KEYS[1], ARGV[1], '?' .. ARGV[1])
local result, claim = stored[1], stored[2]
if result and string.sub(result, 1, 1) ~= '?' then return {'done', result} end
claim = claim or result
local now = serverMs()
if claim and leaseEnd(claim) > now then return {'busy'} end
redis.call('HSET', KEYS[1], '?' .. ARGV[1], '?' .. (now + tonumber(ARGV[3])) .. ':' .. ARGV[2])
return {'claimed', claim and 1 or 0}
`);

// KEYS: counter. ARGV: limit, TTL ms ("" for none). Check and increment in one step; the TTL only on creation.
const INCREMENT_BELOW = new LuaScript(`
local current = redis.call('GET', KEYS[1])
local value = tonumber(current or '0')
if value >= tonumber(ARGV[1]) then return {0, value} end
value = redis.call('INCR', KEYS[1])
if not current and ARGV[2] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {1, value}
`);

// KEYS: counter. DECR keeps the TTL; a missing or zero counter stays as it is.
const DECREMENT_TO_ZERO = new LuaScript(`
local value = tonumber(redis.call('GET', KEYS[1]) or '0')
if value <= 0 then return 0 end
return redis.call('DECR', KEYS[1])
`);

// The commit of an effect whose claim an earlier version left in the result's field (HSETNX finds the field
// taken): the first result wins. KEYS: the hash. ARGV: effect, result JSON. Returns the stored result.
const LEDGER_COMMIT_OVER_CLAIM = new LuaScript(`
local stored = redis.call('HGET', KEYS[1], ARGV[1])
if stored and string.sub(stored, 1, 1) ~= '?' then return stored end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return ARGV[2]
`);

// KEYS: the hash. ARGV: effect, token, lease ms (0: end the lease now). 1 when `token` still held the claim.
const LEDGER_LEASE = new LuaScript(`${SERVER_MS}
local field = '?' .. ARGV[1]
local stored = redis.call('HGET', KEYS[1], field)
if not stored then return 0 end
local token = string.match(stored, '^%?%d+:(.*)$')
if token ~= ARGV[2] then return 0 end
local lease = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], field, '?' .. (lease > 0 and serverMs() + lease or 0) .. ':' .. token)
return 1
`);

// Retention: the lead and what the store keeps for it, if it still qualifies. KEYS: lead hash, timeline,
// ledger hash, idempotency key, person key ('' when none), then one index per status. ARGV: leadId, allowed
// statuses (space-separated), updatedBefore ISO ('' for any), term key prefix, source term. Index term keys
// are built here from the lead's 'terms' field, under the same prefix (and hash tag) as KEYS.
const DELETE_LEAD = new LuaScript(`${MOVE_TO}
local lead = redis.call('HMGET', KEYS[1], 'status', 'updatedAt', 'terms', 'receivedAtMs')
if not lead[1] then return 0 end
local allowed = false
for s in string.gmatch(ARGV[2], '%S+') do if s == lead[1] then allowed = true end end
if not allowed then return 0 end
if ARGV[3] ~= '' and (not lead[2] or lead[2] > ARGV[3]) then return 0 end
for t in string.gmatch(lead[3] or '', '%S+') do redis.call('ZREM', ARGV[4] .. t, ARGV[1]) end
if ARGV[5] ~= '' then redis.call('ZREM', ARGV[4] .. ARGV[5], ARGV[1]) end
redis.call('ZREM', KEYS[slots[lead[1]] + 4], ARGV[1])
if redis.call('GET', KEYS[4]) == ARGV[1] then redis.call('DEL', KEYS[4]) end
local person = redis.call('GET', KEYS[5])
if person then
  local ok, route = pcall(cjson.decode, person)
  if ok and type(route) == 'table' and route.leadId == ARGV[1] then redis.call('DEL', KEYS[5]) end
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return 1
`);

/**
 * The Redis lead store. Keys under `prefix`: `lead:<id>` hash (long JSON fields deflated, see `packJson`),
 * `timeline:<id>` list (an empty first entry, then one JSON entry per step), `leads:<status>` sorted sets
 * scored by receivedAt ms (every lead in exactly one), `ledger:<id>` hash (one field per effect),
 * `idem:<key>`, `counter:<key>` and `person:<sha-256 of the normalised email>` (the returning-lead memory,
 * expiring with its window) strings. A lead's run costs one script to begin, one RPUSHX per step and one
 * script to end; a ledger effect one script to claim and one HSETNX to store its result.
 */
export class RedisLeadStore implements LeadStore {
  readonly name = "redis";
  readonly counters: Counters;
  readonly ledger: LeasedLedger;
  readonly routeMemory: RouteMemory;

  readonly #redis: RedisClient;
  readonly #ownsRedis: boolean;
  readonly #prefix: string;
  readonly #pingTimeoutMs: number;
  readonly #clock: () => Date;

  constructor(options: RedisLeadStoreOptions) {
    const { client, owned } = clientOf(options.redis);
    this.#redis = client;
    this.#ownsRedis = owned;
    this.#prefix = options.prefix ?? "lg";
    this.#pingTimeoutMs = options.pingTimeoutMs ?? 1000;
    this.#clock = options.clock ?? (() => new Date());
    this.counters = {
      increment: async (key, ttlSeconds) => this.#increment(key, ttlSeconds),
      incrementBelow: async (key, limit, ttlSeconds) => {
        const ttl = ttlSeconds === undefined ? "" : ttlMs(ttlSeconds);
        const [taken, value] = (await INCREMENT_BELOW.run(
          this.#redis,
          [this.#key("counter", key)],
          [limit, ttl],
        )) as [number, number];
        return { taken: taken === 1, value: Number(value) };
      },
      decrement: async (key) =>
        Number(await DECREMENT_TO_ZERO.run(this.#redis, [this.#key("counter", key)], [])),
      get: async (key) => Number((await this.#redis.get(this.#key("counter", key))) ?? 0),
    };
    this.ledger = new LeasedLedger(this.#ledgerBackend(), options.ledger);
    this.routeMemory = {
      recall: async (person) => {
        const stored = await this.#redis.get(this.#key("person", person));
        return stored === null ? undefined : (JSON.parse(stored) as PersonRoute);
      },
      remember: async (person, route, ttlSeconds) => {
        await this.#redis.set(this.#key("person", person), JSON.stringify(route), "PX", ttlMs(ttlSeconds));
      },
    };
  }

  async createLead(lead: NewLead): Promise<void> {
    const ms = receivedAtMs(lead.receivedAt);
    const fields: Array<string | Buffer> = [
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
      packJson(lead.payload),
    ];
    if (lead.source !== undefined) fields.push("source", lead.source);
    if (lead.idempotencyKey !== undefined) fields.push("idempotencyKey", lead.idempotencyKey);
    // The 'terms' field lists the terms that follow the facets; the source term stays for the lead's life.
    const terms = facetTerms(lead.facets ?? {}, undefined);
    fields.push("facets", JSON.stringify(lead.facets ?? {}), "terms", terms.join(" "));
    const sourceTerms = lead.source === undefined ? [] : facetTerms({}, lead.source);
    const created = await CREATE_LEAD.run(
      this.#redis,
      [
        this.#key("lead", lead.leadId),
        this.#index("queued"),
        this.#key("timeline", lead.leadId),
        ...[...terms, ...sourceTerms].map((term) => this.#termKey(term)),
      ],
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
    // SET NX GET would name the holder in the same command, but needs Redis 7.
    for (;;) {
      if ((await this.#redis.set(redisKey, leadId, "PX", ttlMs(ttlSeconds), "NX")) === "OK") {
        return { claimed: true };
      }
      const holder = await this.#redis.get(redisKey);
      // Null: the claim expired or was released in between, so the key is free again.
      if (holder !== null) return { claimed: false, leadId: holder };
    }
  }

  async releaseIdempotencyKey(key: string, leadId: string): Promise<void> {
    await DELETE_IF_EQUALS.run(this.#redis, [this.#key("idem", key)], [leadId]);
  }

  async getLead(leadId: string): Promise<LeadRecord | null> {
    // Not a transaction: the record and its timeline change at different moments anyway.
    const [hash, timeline] = execResults(
      await this.#redis
        .pipeline()
        .hgetallBuffer(this.#key("lead", leadId))
        .lrange(this.#key("timeline", leadId), 0, -1)
        .exec(),
    );
    return toRecord(hash as Record<string, Buffer>, timeline as string[]);
  }

  async listLeads(options: ListLeadsOptions = {}): Promise<LeadPage> {
    const limit = listLimit(options.limit);
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    const { fromMs, toMs } = dateBounds(options);
    const groups = queryTermGroups(options);
    // One transaction, so a lead changing status in between is seen in one index, not two or none; a
    // search first intersects its term indexes (and the status index) into a key the same transaction drops.
    const scan = this.#redis.multi();
    const temporary: string[] = [];
    let indexes: string[];
    if (groups.length === 0) {
      // Every lead is in exactly one status index, so all leads are their union.
      indexes = options.status === undefined ? this.#statusIndexes() : [this.#index(options.status)];
    } else {
      const sets = groups.map((group) => {
        if (group.length === 1) return this.#termKey(group[0] as string);
        const union = this.#key("tmp", randomUUID());
        temporary.push(union);
        scan.zunionstore(union, group.length, ...group.map((t) => this.#termKey(t)), "AGGREGATE", "MAX");
        return union;
      });
      if (options.status !== undefined) sets.push(this.#index(options.status));
      const hits = this.#key("tmp", randomUUID());
      temporary.push(hits);
      scan.zinterstore(hits, sets.length, ...sets, "AGGREGATE", "MAX");
      indexes = [hits];
    }
    // Scores are receivedAt ms; `to` is exclusive, a cursor's own ms is read whole and tie-broken below.
    const top = toMs === undefined ? Number.POSITIVE_INFINITY : toMs - 1;
    const bottom = fromMs === undefined ? "-inf" : String(fromMs);
    for (const index of indexes) {
      // One extra id tells whether there is a next page.
      if (after && after.ms <= top) {
        if (fromMs === undefined || after.ms >= fromMs)
          scan.zrevrangebyscore(index, after.ms, after.ms, "WITHSCORES");
        scan.zrevrangebyscore(index, `(${after.ms}`, bottom, "WITHSCORES", "LIMIT", 0, limit + 1);
      } else {
        const high = top === Number.POSITIVE_INFINITY ? "+inf" : String(top);
        scan.zrevrangebyscore(index, high, bottom, "WITHSCORES", "LIMIT", 0, limit + 1);
      }
    }
    if (temporary.length > 0) scan.del(...temporary);
    const replies = execResults(await scan.exec());
    const ranges = replies.filter((reply): reply is string[] => Array.isArray(reply));
    // Equal scores are ordered by member bytes, which Lua compares by locale; the tie-break happens here.
    const ids = ranges
      .flatMap(pairs)
      .filter(
        ({ id, ms }) => !after || ms < after.ms || (ms === after.ms && compareIds(id, after.leadId) < 0),
      )
      .sort((a, b) => b.ms - a.ms || compareIds(b.id, a.id))
      .slice(0, limit + 1);
    const pageIds = ids.slice(0, limit);
    if (pageIds.length === 0) return { leads: [] };
    const reads = this.#redis.pipeline();
    for (const { id } of pageIds) {
      reads.hgetallBuffer(this.#key("lead", id)).lrange(this.#key("timeline", id), 0, -1);
    }
    const results = execResults(await reads.exec());
    const leads: LeadRecord[] = [];
    for (let i = 0; i < pageIds.length; i++) {
      const record = toRecord(results[2 * i] as Record<string, Buffer>, results[2 * i + 1] as string[]);
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

  async beginAttempt(leadId: string): Promise<LeadSummary | null> {
    const hash = (await BEGIN_ATTEMPT.runBuffer(
      this.#redis,
      [this.#key("lead", leadId), ...this.#statusIndexes()],
      [leadId, this.#clock().toISOString()],
    )) as Buffer[] | null;
    if (hash === null) return null;
    const fields: Record<string, Buffer> = {};
    for (let i = 0; i + 1 < hash.length; i += 2) fields[String(hash[i])] = hash[i + 1] as Buffer;
    const record = toRecord(fields, []);
    if (!record) return null;
    const { timeline: _, ...lead } = record;
    return lead;
  }

  async markCompleted(leadId: string, result: Record<string, unknown>, facets?: LeadFacets): Promise<void> {
    await this.#setStatus(leadId, "completed", 0, ["result", packJson(result)], facets);
  }

  async markAwaiting(leadId: string, result: Record<string, unknown>, facets?: LeadFacets): Promise<void> {
    await this.#setStatus(leadId, "awaiting", 0, ["result", packJson(result)], facets);
  }

  async markFailed(leadId: string, error: Omit<LeadError, "at">, facets?: LeadFacets): Promise<void> {
    const lastError: LeadError = { ...error, at: this.#clock().toISOString() };
    await this.#setStatus(leadId, "failed", 0, ["lastError", packJson(lastError)], facets);
  }

  async markRetrying(
    leadId: string,
    error: Omit<LeadError, "at">,
    nextAttemptAt: string,
    facets?: LeadFacets,
  ): Promise<void> {
    const lastError: LeadError = { ...error, at: this.#clock().toISOString() };
    await this.#setStatus(
      leadId,
      "retrying",
      0,
      ["lastError", packJson(lastError), "nextAttemptAt", nextAttemptAt],
      facets,
    );
  }

  async appendTimeline(leadId: string, entry: TimelineEntry): Promise<void> {
    const json = packTimelineEntry(withDuration(entry));
    if ((await this.#redis.rpushx(this.#key("timeline", leadId), json)) > 0) return;
    const appended = await APPEND_TIMELINE.run(
      this.#redis,
      [this.#key("lead", leadId), this.#key("timeline", leadId)],
      [json],
    );
    if (appended !== 1) throw new LeadNotFoundError(leadId);
  }

  async expiredLeads(before: string, limit: number): Promise<string[]> {
    // The completed index is scored by receivedAt, which never comes after updatedAt: candidates are the
    // leads received by `before`, checked one page at a time for when they last changed.
    const cutoffMs = receivedAtMs(before);
    const index = this.#index("completed");
    const found: string[] = [];
    for (let offset = 0; found.length < limit; offset += EXPIRY_PAGE) {
      const ids = await this.#redis.zrangebyscore(index, "-inf", cutoffMs, "LIMIT", offset, EXPIRY_PAGE);
      if (ids.length === 0) break;
      const reads = this.#redis.pipeline();
      for (const id of ids) reads.hget(this.#key("lead", id), "updatedAt");
      const updated = execResults(await reads.exec()) as Array<string | null>;
      ids.forEach((id, i) => {
        const at = updated[i];
        if (at != null && at <= before && found.length < limit) found.push(id);
      });
      if (ids.length < EXPIRY_PAGE) break;
    }
    return found;
  }

  async deleteLead(leadId: string, when: DeleteWhen): Promise<boolean> {
    // The person and idempotency keys are named from fields of the record; the script checks it again.
    const [source, idempotencyKey, facets] = await this.#redis.hmget(
      this.#key("lead", leadId),
      "source",
      "idempotencyKey",
      "facets",
    );
    const email = facets ? (JSON.parse(facets) as LeadFacets).email : undefined;
    const deleted = await DELETE_LEAD.run(
      this.#redis,
      [
        this.#key("lead", leadId),
        this.#key("timeline", leadId),
        this.#key("ledger", leadId),
        this.#key("idem", idempotencyKey ?? ""),
        this.#key("person", email ? personKey(email) : ""),
        ...this.#statusIndexes(),
      ],
      [
        leadId,
        when.statuses.join(" "),
        when.updatedBefore ?? "",
        this.#termKey(""),
        source ? (facetTerms({}, source)[0] ?? "") : "",
      ],
    );
    return deleted === 1;
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

  #index(status: LeadStatus): string {
    return `${this.#prefix}:leads:${status}`;
  }

  #statusIndexes(): string[] {
    return LEAD_STATUSES.map((status) => this.#index(status));
  }

  /** A search term's index: a sorted set of lead ids scored by receivedAt ms. */
  #termKey(term: string): string {
    return `${this.#prefix}:ix:${term}`;
  }

  async #setStatus(
    leadId: string,
    status: LeadStatus,
    attempts: number,
    fields: Array<string | Buffer>,
    facets?: LeadFacets,
  ): Promise<void> {
    const facetArgs = facets
      ? [JSON.stringify(facets), facetTerms(facets, undefined).join(" "), this.#termKey("")]
      : ["", "", ""];
    const updated = await SET_STATUS.run(
      this.#redis,
      [this.#key("lead", leadId), ...this.#statusIndexes()],
      [
        leadId,
        status,
        attempts,
        ...facetArgs,
        this.#key("ledger", leadId),
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
    const redis = this.#redis;
    const where = (key: string) => {
      const { leadId, effect } = ledgerKeyParts(key);
      return { hash: this.#key("ledger", leadId), field: effect };
    };
    return {
      claim: async (key, token, leaseMs) => {
        const { hash, field } = where(key);
        const [state, value] = (await LEDGER_CLAIM.run(redis, [hash], [field, token, leaseMs])) as [
          string,
          string | number | undefined,
        ];
        if (state === "done") return { state, json: String(value) };
        if (state === "busy") return { state };
        return { state: "claimed", mayExist: value === 1 };
      },
      commit: async (key, _token, json) => {
        const { hash, field } = where(key);
        if ((await redis.hsetnx(hash, field, json)) === 1) return json;
        const stored = await redis.hget(hash, field);
        if (stored !== null && !stored.startsWith("?")) return stored;
        return String(await LEDGER_COMMIT_OVER_CLAIM.run(redis, [hash], [field, json]));
      },
      release: async (key, token) => {
        const { hash, field } = where(key);
        await LEDGER_LEASE.run(redis, [hash], [field, token, 0]);
      },
      renew: async (key, token, leaseMs) => {
        const { hash, field } = where(key);
        return (await LEDGER_LEASE.run(redis, [hash], [field, token, leaseMs])) === 1;
      },
      read: async (key) => {
        const { hash, field } = where(key);
        const stored = await redis.hget(hash, field);
        return stored === null || stored.startsWith("?") ? undefined : stored;
      },
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

/** A step as the runner records it: its start, end and duration agree, to the millisecond. */
type CompactEntry = [
  node: string,
  startedAtMs: number,
  durationMs: number,
  status: "ok" | "error",
  error?: string,
];

/**
 * A timeline entry as stored: the runner's entries (start and end to the millisecond, the duration between
 * them) as a JSON array `[node, start ms, duration ms, status, error?]`, a third of the object's size;
 * anything else as the object's JSON.
 */
function packTimelineEntry(entry: TimelineEntry): string {
  const { node, startedAt, endedAt, durationMs, status, error, ...rest } = entry;
  const start = Date.parse(startedAt);
  const regular =
    Object.keys(rest).length === 0 &&
    endedAt !== undefined &&
    Number.isInteger(start) &&
    new Date(start).toISOString() === startedAt &&
    durationMs !== undefined &&
    durationMs >= 0 &&
    new Date(start + durationMs).toISOString() === endedAt;
  if (!regular) return JSON.stringify(entry);
  const compact: CompactEntry = [node, start, durationMs, status];
  if (error !== undefined) compact.push(error);
  return JSON.stringify(compact);
}

function unpackTimelineEntry(stored: string): TimelineEntry {
  const parsed = JSON.parse(stored) as TimelineEntry | CompactEntry;
  if (!Array.isArray(parsed)) return parsed;
  const [node, start, durationMs, status, error] = parsed;
  return {
    node,
    startedAt: new Date(start).toISOString(),
    endedAt: new Date(start + durationMs).toISOString(),
    durationMs,
    status,
    ...(error !== undefined ? { error } : {}),
  };
}

function toRecord(hash: Record<string, Buffer>, timeline: string[]): LeadRecord | null {
  const text = (field: string) => hash[field]?.toString("utf8");
  const leadId = text("leadId");
  if (leadId === undefined) return null;
  const record: LeadRecord = {
    leadId,
    status: text("status") as LeadStatus,
    receivedAt: String(text("receivedAt")),
    updatedAt: String(text("updatedAt")),
    attempts: Number(text("attempts")),
    payload: hash.payload === undefined ? null : unpackJson(hash.payload),
    // The empty first entry only marks the list as the lead's.
    timeline: timeline.filter((entry) => entry !== "").map(unpackTimelineEntry),
    facets: hash.facets === undefined ? {} : (JSON.parse(hash.facets.toString("utf8")) as LeadFacets),
  };
  const source = text("source");
  if (source !== undefined) record.source = source;
  if (hash.lastError !== undefined) record.lastError = unpackJson(hash.lastError) as LeadError;
  const idempotencyKey = text("idempotencyKey");
  if (idempotencyKey !== undefined) record.idempotencyKey = idempotencyKey;
  if (hash.result !== undefined) record.result = unpackJson(hash.result) as Record<string, unknown>;
  const nextAttemptAt = text("nextAttemptAt");
  if (nextAttemptAt !== undefined) record.nextAttemptAt = nextAttemptAt;
  return record;
}
