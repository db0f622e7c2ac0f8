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
