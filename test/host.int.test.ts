/**
 * The host hardened as fastify/demo's is: socket and request timeouts, load shedding, graceful shutdown on
 * SIGTERM, and a bad environment refused with its problems listed and no stack trace. The last two run the
 * real `server.ts` and `cli.ts` as child processes.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { DATABASE_FILE } from "../app/runtime.ts";
import { SERVER_TIMEOUTS } from "../http/app.ts";
import { OVERLOAD_RETRY_AFTER_SECONDS } from "../http/load-shedding.ts";
import { QUALIFIED_LEAD, sampleLead, startService, type TestService } from "./helpers/app.ts";
import { freePort } from "./helpers/redis-server.ts";

const services: TestService[] = [];
afterEach(async () => {
  for (const service of services.splice(0)) await service.close();
});

async function listening(
  host: Parameters<typeof startService>[3],
): Promise<{ service: TestService; port: number }> {
  const service = await startService({}, {}, undefined, host);
  services.push(service);
  await service.app.listen({ host: "127.0.0.1", port: 0 });
  const address = service.app.server.address();
  if (address === null || typeof address === "string") throw new Error("not listening");
  return { service, port: address.port };
}

/** Opens a raw socket, writes `request` (maybe nothing) and collects what comes back until the server closes it. */
function rawExchange(port: number, request: string): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let reply = "";
    // A hang guard, not a timing assertion: the server is expected to close long before.
    const guard = setTimeout(() => {
      socket.destroy();
      resolve({ reply, closed: false });
    }, 15_000);
    socket.on("data", (chunk) => {
      reply += chunk.toString();
    });
    socket.on("close", () => {
      clearTimeout(guard);
      resolve({ reply, closed: true });
    });
    socket.on("error", () => {});
    if (request) socket.write(request);
  });
}

describe("timeouts", () => {
  it("production's: whole request within 30 s, silent sockets closed after 60 s, keep-alive 72 s", async () => {
    const { service } = await listening({});
    expect(service.app.server.requestTimeout).toBe(SERVER_TIMEOUTS.requestTimeout);
    expect(service.app.server.timeout).toBe(SERVER_TIMEOUTS.connectionTimeout);
    expect(service.app.server.keepAliveTimeout).toBe(SERVER_TIMEOUTS.keepAliveTimeout);
    expect(SERVER_TIMEOUTS.keepAliveTimeout).toBeGreaterThan(60_000);
  });

  it("answers 408 and closes the socket of a client that never finishes its request (slowloris)", async () => {
    const { port } = await listening({ timeouts: { requestTimeout: 300, connectionsCheckingInterval: 50 } });
    // Headers promise 100 bytes of body; one arrives and the client goes quiet, keeping the socket busy.
    const { reply, closed } = await rawExchange(
      port,
      "POST /webhooks/lead HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    );
    expect(closed).toBe(true);
    expect(reply).toMatch(/^HTTP\/1\.1 408/);
    expect(reply).toContain('{"error":"request_timeout","message":"the request did not arrive in time"}');
  });

  it("closes a connection that sends nothing at all", async () => {
    const { port } = await listening({ timeouts: { connectionTimeout: 300 } });
    const { reply, closed } = await rawExchange(port, "");
    expect(closed).toBe(true);
    expect(reply).toBe("");
  });
});

describe("load shedding", () => {
  it("answers 503 with Retry-After once the process is over a pressure threshold, but still /health and /metrics", async () => {
    // A heap limit of one byte: over the threshold from the first sample on, as a truly overloaded process is.
    const { service } = await listening({
      loadShedding: { maxHeapUsedBytes: 1, maxEventLoopDelay: 0, sampleInterval: 10 },
    });
    for (let i = 0; i < 200 && !service.app.isUnderPressure(); i++) await sleep(10);
    expect(service.app.isUnderPressure()).toBe(true);
    const res = await service.app.inject({
      method: "POST",
      url: "/webhooks/lead",
      payload: sampleLead(QUALIFIED_LEAD),
    });
    expect(res.statusCode).toBe(503);
    expect(res.headers["retry-after"]).toBe(String(OVERLOAD_RETRY_AFTER_SECONDS));
    expect(res.json()).toEqual({ error: "overloaded", message: expect.any(String) });
    expect((await service.runtime.store.listLeads({ limit: 10 })).leads).toEqual([]);
    expect((await service.app.inject("/health")).statusCode).toBe(200);
    expect((await service.app.inject("/metrics")).statusCode).toBe(200);
  });
});

/** Runs a project entry point as a child process with only the environment given. */
function run(args: string[], env: Record<string, string>): ChildProcess & { output: () => string } {
  let output = "";
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  return Object.assign(child, { output: () => output });
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

describe("the process", () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  /** `server.ts` on a free port over a fresh DATA_DIR, once it answers /health. */
  async function startServer(env: Record<string, string> = {}) {
    const dataDir = mkdtempSync(join(tmpdir(), "leadgraph-host-"));
    dirs.push(dataDir);
    const port = await freePort();
    const server = run(["server.ts"], {
      PORT: String(port),
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      LOG_LEVEL: "info",
      ...env,
    });
    children.push(server);
    let ready = false;
    for (let i = 0; i < 300 && !ready && server.exitCode === null; i++) {
      ready = await fetch(`http://127.0.0.1:${port}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (!ready) await sleep(100);
    }
    expect(ready, server.output()).toBe(true);
    return { server, port, dataDir };
  }

  it("stops on SIGTERM: intake closes, the accepted lead finishes, exit 0", async () => {
    const { server, port, dataDir } = await startServer();
    const res = await fetch(`http://127.0.0.1:${port}/webhooks/lead`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(sampleLead(QUALIFIED_LEAD)),
    });
    expect(res.status).toBe(202);
    const { leadId } = (await res.json()) as { leadId: string };

    server.kill("SIGTERM");
    expect(await exitOf(server), server.output()).toBe(0);
    expect(server.output()).toContain("service shutting down");
    expect(server.output()).toContain('"msg":"stopped"');
    const db = new DatabaseSync(join(dataDir, DATABASE_FILE), { readOnly: true });
    try {
      const row = db.prepare("SELECT status FROM leads WHERE lead_id = ?").get(leadId) as { status: string };
      // Finished before the exit: delivered, and waiting for its owner.
      expect(row.status).toBe("awaiting");
    } finally {
      db.close();
    }
  });

  it("cuts a shutdown that cannot finish at SHUTDOWN_TIMEOUT_MS, with exit 1", async () => {
    const { server, port } = await startServer({ SHUTDOWN_TIMEOUT_MS: "2000" });
    // A client in the middle of sending its request: closing waits for it (up to the 30 s request timeout).
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => {});
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write(
      "POST /webhooks/lead HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    );
    await sleep(200);
    server.kill("SIGTERM");
    // Before, nothing bounded the shutdown: it waited on the client (or, with no request timeout, for ever).
    expect(await exitOf(server), server.output()).toBe(1);
    expect(server.output()).toContain("shutdown deadline passed");
    socket.destroy();
  });

  const badEnv = { PORT: "eighty", REDIS_URL: "http://not-redis", ADMIN_TOKENS: "short", LOG_LEVEL: "loud" };

  it.each([
    ["the server", ["server.ts"]],
    ["the worker", ["cli.ts", "worker"]],
    ["a CLI command", ["cli.ts", "config", "check"]],
  ])("%s refuses a bad environment: every problem listed, exit 1, no stack trace", async (_name, args) => {
    const child = run(args, badEnv);
    children.push(child);
    expect(await exitOf(child)).toBe(1);
    const output = child.output();
    expect(output).toContain("invalid environment");
    for (const key of Object.keys(badEnv)) expect(output).toContain(`  - ${key}`);
    // Before, the server threw the EnvError at import time: Node printed it with its stack.
    expect(output).not.toMatch(/^\s+at /m);
    expect(output).not.toContain("EnvError");
  });

  it("`leadgraph worker` without REDIS_URL refuses instead of quietly competing for the service's SQLite file", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "leadgraph-host-"));
    dirs.push(dataDir);
    const child = run(["cli.ts", "worker"], { DATA_DIR: dataDir });
    children.push(child);
    expect(await exitOf(child)).toBe(2);
    expect(child.output()).toContain("leadgraph worker needs REDIS_URL");
  });
});
