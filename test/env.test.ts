import { describe, expect, it } from "vitest";
import { EnvError, parseEnv } from "../config/env.ts";

describe("parseEnv", () => {
  it("has working defaults with an empty environment", () => {
    const env = parseEnv({});
    expect(env.PORT).toBe(3000);
    expect(env.DATA_DIR).toBe(".data");
    expect(env.REDIS_URL).toBeUndefined();
    expect(env.ADMIN_TOKENS).toEqual([]);
    expect(env.ROUTING_FILE).toMatch(/config\/routing\.json$/);
  });

  it("treats empty strings as unset and splits admin tokens", () => {
    const env = parseEnv({ OPENAI_API_KEY: "", ADMIN_TOKENS: " aaaaaaaaaaaaaaaa , bbbbbbbbbbbbbbbb " });
    expect(env.OPENAI_API_KEY).toBeUndefined();
    expect(env.ADMIN_TOKENS).toEqual(["aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"]);
  });

  it("has rate limits a busy HubSpot portal fits under, and reads TRUST_PROXY as Fastify takes it", () => {
    const env = parseEnv({});
    expect(env.WEBHOOK_RATE_LIMIT).toBeGreaterThanOrEqual(1200);
    expect(env.ADMIN_RATE_LIMIT).toBeGreaterThan(0);
    expect(env.SHUTDOWN_TIMEOUT_MS).toBeLessThan(30_000);
    expect(env.TRUST_PROXY).toBe(false);
    expect(parseEnv({ TRUST_PROXY: "true" }).TRUST_PROXY).toBe(true);
    expect(parseEnv({ TRUST_PROXY: "false" }).TRUST_PROXY).toBe(false);
    expect(parseEnv({ TRUST_PROXY: "2" }).TRUST_PROXY).toBe(2);
    expect(parseEnv({ TRUST_PROXY: "10.0.0.0/8,127.0.0.1" }).TRUST_PROXY).toBe("10.0.0.0/8,127.0.0.1");
    expect(() => parseEnv({ WEBHOOK_RATE_LIMIT: "-1" })).toThrow(/WEBHOOK_RATE_LIMIT/);
  });

  it("lists every problem at once", () => {
    try {
      parseEnv({ PORT: "eighty", REDIS_URL: "http://x", ADMIN_TOKENS: "short", LOG_LEVEL: "loud" });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(EnvError);
      const problems = (err as EnvError).problems.join("\n");
      for (const key of ["PORT", "REDIS_URL", "ADMIN_TOKENS", "LOG_LEVEL"]) expect(problems).toContain(key);
    }
  });
});
