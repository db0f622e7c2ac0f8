/**
 * Every version of routing.json and scoring.json the service has loaded, by content hash, with when it was
 * first and last loaded and its text: the history the console shows with a diff. Versions are few (one per
 * edit), so each store keeps them in one table or one hash.
 */
import type { DatabaseSync } from "node:sqlite";
import type { RedisClient } from "./redis-client.ts";

export interface StoredConfigVersion {
  kind: string;
  hash: string;
  file: string;
  /** ISO timestamps. */
  firstLoadedAt: string;
  lastLoadedAt: string;
  text: string;
}

export interface ConfigVersionInput {
  hash: string;
  file: string;
  loadedAt: string;
  text: string;
}

export interface ConfigHistory {
  /** Keeps a version; loading the same text again only moves its `lastLoadedAt`. */
  record(kind: string, version: ConfigVersionInput): Promise<void>;
  /** Newest (last loaded) first. */
  list(kind: string, limit?: number): Promise<StoredConfigVersion[]>;
  get(kind: string, hash: string): Promise<StoredConfigVersion | null>;
}

const newestFirst = (a: StoredConfigVersion, b: StoredConfigVersion) =>
  b.lastLoadedAt.localeCompare(a.lastLoadedAt);

export class SqliteConfigHistory implements ConfigHistory {
  readonly #db: DatabaseSync;

  constructor(options: { db: DatabaseSync }) {
    this.#db = options.db;
    this.#db.exec(`CREATE TABLE IF NOT EXISTS config_versions (
      kind TEXT NOT NULL,
      hash TEXT NOT NULL,
      file TEXT NOT NULL,
      first_loaded_at TEXT NOT NULL,
      last_loaded_at TEXT NOT NULL,
      text TEXT NOT NULL,
      PRIMARY KEY (kind, hash)
    ) STRICT`);
  }

  async record(kind: string, v: ConfigVersionInput): Promise<void> {
    this.#db
      .prepare(
        `INSERT INTO config_versions (kind, hash, file, first_loaded_at, last_loaded_at, text)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (kind, hash) DO UPDATE SET last_loaded_at = excluded.last_loaded_at, file = excluded.file`,
      )
      .run(kind, v.hash, v.file, v.loadedAt, v.loadedAt, v.text);
  }

  async list(kind: string, limit = 100): Promise<StoredConfigVersion[]> {
    const rows = this.#db
      .prepare(
        `SELECT kind, hash, file, first_loaded_at, last_loaded_at, text FROM config_versions
         WHERE kind = ? ORDER BY last_loaded_at DESC LIMIT ?`,
      )
      .all(kind, limit);
    return rows.map(fromRow);
  }

  async get(kind: string, hash: string): Promise<StoredConfigVersion | null> {
    const row = this.#db
      .prepare(
        "SELECT kind, hash, file, first_loaded_at, last_loaded_at, text FROM config_versions WHERE kind = ? AND hash = ?",
      )
      .get(kind, hash);
    return row ? fromRow(row) : null;
  }
}

function fromRow(row: Record<string, unknown>): StoredConfigVersion {
  return {
    kind: String(row.kind),
    hash: String(row.hash),
    file: String(row.file),
    firstLoadedAt: String(row.first_loaded_at),
    lastLoadedAt: String(row.last_loaded_at),
    text: String(row.text),
  };
}

/** One hash per kind, `<prefix>:config-versions:<kind>`, field = content hash, value = the version as JSON. */
export class RedisConfigHistory implements ConfigHistory {
  readonly #redis: RedisClient;
  readonly #prefix: string;

  constructor(options: { redis: RedisClient; prefix?: string }) {
    this.#redis = options.redis;
    this.#prefix = options.prefix ?? "lg";
  }

  #key(kind: string): string {
    return `${this.#prefix}:config-versions:${kind}`;
  }

  async record(kind: string, v: ConfigVersionInput): Promise<void> {
    const key = this.#key(kind);
    const known = await this.get(kind, v.hash);
    const stored: StoredConfigVersion = {
      kind,
      hash: v.hash,
      file: v.file,
      firstLoadedAt: known?.firstLoadedAt ?? v.loadedAt,
      lastLoadedAt: v.loadedAt,
      text: v.text,
    };
    await this.#redis.hset(key, v.hash, JSON.stringify(stored));
  }

  async list(kind: string, limit = 100): Promise<StoredConfigVersion[]> {
    const all = await this.#redis.hvals(this.#key(kind));
    return all
      .map((json) => JSON.parse(json) as StoredConfigVersion)
      .sort(newestFirst)
      .slice(0, limit);
  }

  async get(kind: string, hash: string): Promise<StoredConfigVersion | null> {
    const json = await this.#redis.hget(this.#key(kind), hash);
    return json ? (JSON.parse(json) as StoredConfigVersion) : null;
  }
}
