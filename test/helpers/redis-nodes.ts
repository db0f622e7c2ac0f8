/**
 * redis-server processes a test starts and stops by PID: a restartable server with AOF on (stopped mid-run and
 * started again on the same port and directory) and a three-master Redis Cluster made with
 * `redis-cli --cluster create`. Never a shared Redis, never 127.0.0.1:6379.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";

/** Resolves once `port` answers PING (bounded); throws with `what` otherwise. */
async function waitForPing(port: number, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const probe = new Redis(port, "127.0.0.1", {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    // Refused connections are expected while the server starts.
    probe.on("error", () => {});
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return;
    } catch (err) {
      probe.disconnect();
      if (Date.now() > deadline) throw new Error(`${what} did not answer on port ${port}: ${String(err)}`);
      await sleep(50);
    }
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/** A free loopback port whose cluster bus port (port + 10000) is free too. */
export async function freeClusterPort(taken: Set<number> = new Set()): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    if (taken.has(port) || taken.has(port + 10_000)) continue;
    if ((await portIsFree(port)) && (await portIsFree(port + 10_000))) return port;
  }
  throw new Error("no free port pair for a cluster node");
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  await Promise.race([exited, sleep(5_000)]);
  if (child.exitCode === null && child.signalCode === null) {
    child.kill("SIGKILL");
    await Promise.race([exited, sleep(5_000)]);
  }
}

export interface RestartableRedis {
  url: string;
  port: number;
  dir: string;
  /** The running server's PID. */
  pid(): number | undefined;
  /** Kills the server by its PID (default SIGKILL: nothing flushed on the way out but what AOF already has). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and directory; it reloads its append-only file. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** One redis-server with AOF on (`appendfsync always` unless told), in a directory of its own. */
export async function startAofRedis(
  options: { appendfsync?: "always" | "everysec" } = {},
): Promise<RestartableRedis> {
  const port = await freeClusterPort();
  const dir = mkdtempSync(join(tmpdir(), "leadgraph-redis-aof-"));
  let child: ChildProcess | undefined;
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    "yes",
    "--appendfsync",
    options.appendfsync ?? "always",
  ];
  const start = async () => {
    child = spawn("redis-server", args, { stdio: "ignore" });
    await waitForPing(port, "redis-server (AOF)");
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    pid: () => child?.pid,
    kill: async (signal = "SIGKILL") => {
      if (child) await stopChild(child, signal);
    },
    start,
    stop: async () => {
      if (child) await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TestRedisCluster {
  /** One master's URL: a seed the client discovers the cluster from. */
  url: string;
  ports: number[];
  /** Every master. */
  nodes(): Redis[];
  stop(): Promise<void>;
}

/** Three masters (`--cluster-enabled yes`), slots spread by `redis-cli --cluster create`, no replicas. */
export async function startRedisCluster(): Promise<TestRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), "leadgraph-redis-cluster-"));
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freeClusterPort(taken);
    taken.add(port).add(port + 10_000);
    ports.push(port);
  }
  const children = ports.map((port) =>
    spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir,
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        `nodes-${port}.conf`,
        "--save",
        "",
        "--appendonly",
        "no",
      ],
      { stdio: "ignore" },
    ),
  );
  const clients: Redis[] = [];
  const stop = async () => {
    for (const client of clients) client.disconnect();
    await Promise.all(children.map((child) => stopChild(child)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(ports.map((port) => waitForPing(port, "cluster node")));
    const created = spawnSync(
      "redis-cli",
      [
        "--cluster",
        "create",
        ...ports.map((p) => `127.0.0.1:${p}`),
        "--cluster-replicas",
        "0",
        "--cluster-yes",
      ],
      { encoding: "utf8", timeout: 30_000 },
    );
    if (created.status !== 0)
      throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    for (const port of ports) clients.push(new Redis(port, "127.0.0.1", { maxRetriesPerRequest: 1 }));
    // Every node must agree the cluster is whole before a client is pointed at it.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const infos = await Promise.all(clients.map((c) => c.cluster("INFO") as Promise<string>));
      if (infos.every((info) => info.includes("cluster_state:ok"))) break;
      if (Date.now() > deadline) throw new Error(`cluster not ok: ${infos.join(" | ")}`);
      await sleep(100);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `redis://127.0.0.1:${ports[0]}`, ports, nodes: () => clients, stop };
}
