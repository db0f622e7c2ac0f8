/**
 * `leadgraph routing test` as CI relies on it: every labelled fixtures file passes at 100% through the same
 * command RevOps runs, so a routing.json edit that breaks a labelled case fails `npm test`; any miss fails
 * the command unless --min-accuracy allows it; unlabelled cases are refused.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { routingTestCommand } from "../cli/routing.ts";
import { parseEnv } from "../config/env.ts";

/** Fixture files whose items carry labels. */
const LABELLED = readdirSync("fixtures").filter((name) => {
  if (!name.endsWith(".json")) return false;
  const json = JSON.parse(readFileSync(join("fixtures", name), "utf8")) as unknown;
  return Array.isArray(json) && json.some((c) => typeof c === "object" && c !== null && "expectedOwner" in c);
});

describe("leadgraph routing test", () => {
  const dirs: string[] = [];
  let output: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function quiet(): void {
    output = [];
    const capture = (...args: unknown[]) => void output.push(args.join(" "));
    vi.spyOn(console, "log").mockImplementation(capture);
    vi.spyOn(console, "error").mockImplementation(capture);
  }

  function tempFile(name: string, json: unknown): string {
    const dir = mkdtempSync(join(tmpdir(), "leadgraph-routing-test-"));
    dirs.push(dir);
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(json));
    return file;
  }

  it("finds the labelled fixtures", () => {
    expect(LABELLED).toContain("leads_sample.json");
  });

  it.each(LABELLED)("passes every case of fixtures/%s with the shipped routing.json", async (name) => {
    quiet();
    const code = await routingTestCommand(parseEnv({}), join("fixtures", name), 1, false, false);
    expect(output.filter((line) => line.startsWith("MISS"))).toEqual([]);
    expect(code).toBe(0);
  });

  it("fails on one miss: the partner rule given to another owner", async () => {
    const routing = JSON.parse(readFileSync("config/routing.json", "utf8")) as {
      rules: Array<{ name: string; assign: unknown }>;
    };
    const partner = routing.rules.find((r) => r.name === "partner-referrals");
    if (!partner) throw new Error("no partner rule");
    partner.assign = { type: "owner", owner: "zoe.adams" };
    quiet();
    const env = parseEnv({ ROUTING_FILE: tempFile("routing.json", routing) });
    expect(await routingTestCommand(env, "fixtures/leads_sample.json", 1, false, false)).toBe(1);
    expect(output.some((line) => /owner accuracy 9\d\.\d%/.test(line))).toBe(true);
    // The same edit passes when the caller accepts that accuracy.
    quiet();
    expect(await routingTestCommand(env, "fixtures/leads_sample.json", 0.9, false, false)).toBe(0);
  });

  it("refuses cases without labels, naming them", async () => {
    quiet();
    const file = tempFile("cases.json", [
      { id: "A", expectedOwner: "ava.rossi", payload: { email: "a@example.com" } },
      { id: "B", payload: { email: "b@example.com" } },
    ]);
    expect(await routingTestCommand(parseEnv({}), file, 1, false, false)).toBe(2);
    expect(output.join("\n")).toMatch(/1 case\(s\) have no expectedOwner or expectedTier \(B\)/);
  });
});
