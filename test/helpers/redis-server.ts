import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";

/** A private redis-server on a free loopback port; tests never touch a shared Redis. */
export interface TestRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** The one line `npm test` prints, and stops on, when redis-server cannot be run. */
export const REDIS_SERVER_MISSING =
  "npm test needs redis-server on PATH (the Redis tests start their own on a free port): " +
  "apt-get install redis-server, or brew install redis";

/** Why redis-server cannot be run from `env`'s PATH, or undefined when it can. */
export function redisServerProblem(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const probe = spawnSync("redis-server", ["--version"], { env, encoding: "utf8", timeout: 10_000 });
  if (probe.error || probe.status !== 0 || !probe.stdout.includes("Redis server"))
    return REDIS_SERVER_MISSING;
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      if (address === null || typeof address === "string") return reject(new Error("no port"));
      srv.close(() => resolve(address.port));
    });
  });
}

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "leadgraph-redis-"));
  const child: ChildProcess = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
    { stdio: "ignore" },
  );
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    // Refused connections are expected while the server starts; the loop below handles them.
    probe.on("error", () => {});
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      break;
    } catch (err) {
      probe.disconnect();
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`redis-server did not start on port ${port}: ${String(err)}`);
      }
      await sleep(50);
    }
  }
  return {
    url,
    port,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await Promise.race([exited, sleep(5_000)]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
