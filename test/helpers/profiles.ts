/** Runs a source's tests on both runtime profiles: embedded (SQLite) and Redis (a private redis-server). */
import type { TestService } from "./app.ts";
import type { TestRedis } from "./redis-server.ts";

export const PROFILES = ["embedded", "redis"] as const;
export type ProfileName = (typeof PROFILES)[number];

/** Environment for `profile`; each Redis service gets its own database number on the file's server. */
export function profileEnv(
  profile: ProfileName,
  redis: TestRedis | undefined,
  db: number,
): Record<string, string> {
  if (profile === "embedded") return {};
  if (!redis) throw new Error("the redis profile needs the file's redis-server");
  return { REDIS_URL: `${redis.url}/${db}` };
}

/** POST /webhooks/lead with a JSON body. */
export function postJson(
  service: TestService,
  body: unknown,
  headers: Record<string, string> = {},
  url = "/webhooks/lead",
) {
  return service.app.inject({
    method: "POST",
    url,
    headers: { "content-type": "application/json", ...headers },
    payload: typeof body === "string" ? body : JSON.stringify(body),
  });
}
