/**
 * The Redis profile's connections: one Redis (`REDIS_URL`), or the Redis Cluster that URL's node belongs to
 * (`REDIS_CLUSTER=true`; ioredis discovers the other masters). In a cluster every key that one script or
 * transaction touches must hash to one slot, so the key prefixes carry hash tags there
 * (docs/architecture.md, "Storage keys"): the lead store's keys share `{lg}`, BullMQ's `{lg:bull}`, and each
 * checkpoint thread has its own tag.
 */
import { Cluster, Redis, type RedisOptions } from "ioredis";

export type RedisClient = Redis | Cluster;

export interface RedisTarget {
  url: string;
  /** The URL names one node of a Redis Cluster. */
  cluster?: boolean;
}

/** Opens a client; `options` are each node's options in a cluster. */
export function connectRedis(target: RedisTarget, options: RedisOptions = {}): RedisClient {
  if (!target.cluster) return new Redis(target.url, options);
  const url = new URL(target.url);
  const nodeOptions: RedisOptions = {
    ...options,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.protocol === "rediss:" ? { tls: {} } : {}),
  };
  return new Cluster([{ host: url.hostname, port: Number(url.port || 6379) }], { redisOptions: nodeOptions });
}

/** The client a caller passed, or one opened on a URL; `owned` when opened here (its owner closes it). */
export function clientOf(redis: RedisClient | string): { client: RedisClient; owned: boolean } {
  return typeof redis === "string"
    ? { client: new Redis(redis), owned: true }
    : { client: redis, owned: false };
}

/** Another connection to the same Redis or cluster, with `options` on top (a blocking reader). */
export function duplicateRedis(redis: RedisClient, options: RedisOptions): RedisClient {
  if (redis instanceof Cluster)
    return redis.duplicate([], { redisOptions: { ...redis.options.redisOptions, ...options } });
  return redis.duplicate(options);
}

export interface KeyPrefixes {
  /** Lead store, event log, config history. */
  store: string;
  /** BullMQ. */
  bull: string;
}

/** Key prefixes: hash-tagged in a cluster, so each script's or transaction's keys share a slot. */
export function keyPrefixes(cluster: boolean): KeyPrefixes {
  return cluster ? { store: "{lg}", bull: "{lg:bull}" } : { store: "lg", bull: "lg:bull" };
}
