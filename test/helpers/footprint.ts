/** Where a lead id still appears in a SQLite file or a Redis database: what retention must leave empty. */
import { existsSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { Redis } from "ioredis";

/** "table.column" for every row value holding `leadId` (text, or blob read as UTF-8), tables in `except` aside. */
export function sqliteFootprint(file: string, leadId: string, except: string[] = []): string[] {
  if (!existsSync(file)) return [];
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const found = new Set<string>();
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      .all()
      .map((row) => String(row.name))
      .filter((name) => !except.includes(name));
    for (const table of tables) {
      for (const row of db.prepare(`SELECT * FROM "${table}"`).all()) {
        for (const [column, value] of Object.entries(row)) {
          const text = value instanceof Uint8Array ? Buffer.from(value).toString("utf8") : String(value);
          if (text.includes(leadId)) found.add(`${table}.${column}`);
        }
      }
    }
    return [...found];
  } finally {
    db.close();
  }
}

/**
 * Keys whose name, string value, hash field or value, list item, set or sorted-set member, or stream entry
 * holds `leadId`. Keys matching `ignore` are skipped.
 */
export async function redisFootprint(url: string, leadId: string, ignore?: RegExp): Promise<string[]> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const found: string[] = [];
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "COUNT", 1000);
      cursor = next;
      for (const key of keys) {
        if (ignore?.test(key)) continue;
        if (key.includes(leadId)) {
          found.push(key);
          continue;
        }
        const type = await redis.type(key);
        const values: Buffer[] =
          type === "string"
            ? [(await redis.getBuffer(key)) ?? Buffer.alloc(0)]
            : type === "hash"
              ? await redis
                  .hgetallBuffer(key)
                  .then((h) => [...Object.keys(h).map((k) => Buffer.from(k)), ...Object.values(h)])
              : type === "list"
                ? await redis.lrangeBuffer(key, 0, -1)
                : type === "set"
                  ? await redis.smembersBuffer(key)
                  : type === "zset"
                    ? await redis.zrangeBuffer(key, 0, -1)
                    : type === "stream"
                      ? [Buffer.from(JSON.stringify(await redis.xrange(key, "-", "+")))]
                      : [];
        if (values.some((v) => v.toString("utf8").includes(leadId))) found.push(key);
      }
    } while (cursor !== "0");
    return found;
  } finally {
    redis.disconnect();
  }
}
