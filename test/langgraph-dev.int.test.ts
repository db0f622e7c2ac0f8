/**
 * The LangGraph dev server (`@langchain/langgraph-cli dev`) loads the graph named in langgraph.json and runs a
 * lead through its HTTP API. The server runs from a temporary directory holding a copy of langgraph.json whose
 * graph paths lead back here, so its `.langgraph_api` state and its .gitignore edit land there, not in the
 * repository. Loopback only, no browser, no analytics or tracing, and no vendor credentials in its environment.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "./helpers/redis-server.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = join(ROOT, "node_modules/@langchain/langgraph-cli/dist/cli/cli.mjs");

interface LangGraphConfig {
  node_version: string;
  graphs: Record<string, string>;
  env?: unknown;
}

let dir: string;
let base: string;
let server: ChildProcess;
let exited: Promise<void>;
let output = "";

async function json<T>(path: string, body: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

beforeAll(async () => {
  const config = JSON.parse(readFileSync(join(ROOT, "langgraph.json"), "utf8")) as LangGraphConfig;
  dir = mkdtempSync(join(tmpdir(), "leadgraph-langgraph-dev-"));
  // Relative paths: the server resolves `@langchain/langgraph` from the first graph's file, joined to its cwd.
  const graphs = Object.fromEntries(
    Object.entries(config.graphs).map(([id, spec]) => {
      const [file = "", name] = spec.split(":");
      return [id, `${relative(dir, resolve(ROOT, file))}${name ? `:${name}` : ""}`];
    }),
  );
  writeFileSync(join(dir, "langgraph.json"), JSON.stringify({ ...config, graphs }));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const args = [
    "dev",
    "--config",
    join(dir, "langgraph.json"),
    "--port",
    String(port),
    "--host",
    "127.0.0.1",
  ];
  server = spawn(process.execPath, [CLI, ...args, "--no-browser", "--no-reload"], {
    cwd: dir,
    // Its own process group, so the server and the node processes it spawns stop together.
    detached: true,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      LANGGRAPH_CLI_NO_ANALYTICS: "1",
      LANGSMITH_TRACING: "false",
      LANGCHAIN_TRACING_V2: "false",
      BROWSER: "none",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  server.stdout?.on("data", keep);
  server.stderr?.on("data", keep);
  exited = new Promise((done) => server.once("exit", () => done()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(`${base}/ok`).then(
      (res) => res.json() as Promise<{ ok?: boolean }>,
      () => undefined,
    );
    if (ok?.ok === true) break;
    if (server.exitCode !== null || Date.now() > deadline)
      throw new Error(`the dev server did not start:\n${output}`);
    await sleep(200);
  }
}, 90_000);

afterAll(async () => {
  if (server?.pid !== undefined && server.exitCode === null) {
    process.kill(-server.pid, "SIGTERM");
    const stopped = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
    if (!stopped) process.kill(-server.pid, "SIGKILL");
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe("LangGraph dev server", () => {
  it("runs a lead through the graph from langgraph.json until it waits for its owner", async () => {
    const thread = await json<{ thread_id: string }>("/threads", {});
    expect(thread.status).toBe(200);
    const raw = JSON.parse(readFileSync(join(ROOT, "fixtures/lead.json"), "utf8")) as unknown;
    const run = await json<Record<string, unknown>>(`/threads/${thread.body.thread_id}/runs/wait`, {
      assistant_id: "lead",
      input: { leadId: "dev-server-lead", receivedAt: "2026-01-05T10:00:00.000Z", raw },
    });
    // A failed graph still answers 200, with the error in the body.
    expect(run.body.__error__).toBeUndefined();
    expect(run.status).toBe(200);
    // Delivered: the run pauses in awaitOwner's interrupt, waiting for the owner it names.
    expect(run.body.__interrupt__).toMatchObject([
      { value: { kind: "owner", ownerId: "ethan.brooks", round: 0 } },
    ]);
    const state = await fetch(`${base}/threads/${thread.body.thread_id}/state`);
    const snapshot = (await state.json()) as { values: Record<string, unknown>; next: string[] };
    expect(snapshot.next).toEqual(["awaitOwner"]);
    run.body = snapshot.values;
    expect(run.body).toMatchObject({
      leadId: "dev-server-lead",
      path: "qualified",
      route: { ownerId: "ethan.brooks", ruleName: "na-west" },
      score: { tier: "hot" },
    });
    expect(run.body.notifications).toHaveLength(1);
    expect((run.body.crm as { contactId?: string }).contactId).toEqual(expect.any(String));
  });
});
