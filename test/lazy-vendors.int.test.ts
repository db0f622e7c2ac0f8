/**
 * Issue 12, idle memory: a service started on the embedded default never loads a vendor SDK or the Redis
 * profile's clients, and a vendor's SDK loads once its credentials are set. Runs the real `server.ts` as a
 * child process with a loader hook that lists every module it loaded (test/helpers/record-modules.ts).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "./helpers/redis-server.ts";

/** Packages only a configured vendor adapter or the Redis profile needs. */
const VENDOR_PACKAGES = [
  "@langchain/openai",
  "openai",
  "@pinecone-database/pinecone",
  "@hubspot/api-client",
  "@slack/web-api",
  "bullmq",
  "ioredis",
] as const;

const RECORDER = pathToFileURL(join(import.meta.dirname, "helpers", "record-modules.ts")).href;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The packages (by node_modules name) a `server.ts` started with `env` loaded up to a healthy /health and its SIGTERM. */
async function packagesLoadedBy(env: Record<string, string>): Promise<Set<string>> {
  const dir = mkdtempSync(join(tmpdir(), "leadgraph-lazy-vendors-"));
  dirs.push(dir);
  const out = join(dir, "modules.txt");
  const port = await freePort();
  let output = "";
  const child = spawn(
    process.execPath,
    ["--import", `${RECORDER}?out=${encodeURIComponent(out)}`, "server.ts"],
    {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        DATA_DIR: join(dir, "data"),
        PORT: String(port),
        HOST: "127.0.0.1",
        LOG_LEVEL: "warn",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  try {
    let healthy = false;
    for (let i = 0; i < 300 && !healthy && child.exitCode === null; i++) {
      healthy = await fetch(`http://127.0.0.1:${port}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (!healthy) await sleep(100);
    }
    expect(healthy, output).toBe(true);
    child.kill("SIGTERM");
    expect(await exited, output).toBe(0);
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
  const packages = new Set<string>();
  for (const url of readFileSync(out, "utf8").split("\n")) {
    const name = url.match(/\/node_modules\/((?:@[^/]+\/)?[^/]+)\//)?.[1];
    if (name) packages.add(name);
  }
  return packages;
}

describe("vendor SDKs load only when their adapter is configured", () => {
  it("the embedded default (no credentials) loads none of them, nor ioredis or BullMQ", async () => {
    const packages = await packagesLoadedBy({});
    // The recorder saw the host's own packages: an empty list would prove nothing.
    expect(packages).toContain("fastify");
    expect(packages).toContain("@langchain/langgraph");
    expect(VENDOR_PACKAGES.filter((name) => packages.has(name))).toEqual([]);
  });

  it("Slack and HubSpot credentials load those two SDKs and still not the others", async () => {
    // Loopback addresses nothing listens on: start-up must not need the vendors, and never reaches them.
    const closed = await freePort();
    const packages = await packagesLoadedBy({
      SLACK_BOT_TOKEN: "xoxb-test-token",
      SLACK_API_URL: `http://127.0.0.1:${closed}/api/`,
      HUBSPOT_ACCESS_TOKEN: "pat-test-token",
      HUBSPOT_BASE_PATH: `http://127.0.0.1:${closed}`,
    });
    expect(packages).toContain("@slack/web-api");
    expect(packages).toContain("@hubspot/api-client");
    expect(VENDOR_PACKAGES.filter((name) => packages.has(name))).toEqual([
      "@hubspot/api-client",
      "@slack/web-api",
    ]);
  });
});
