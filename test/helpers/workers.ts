/** Worker child processes (test/helpers/crash-worker.ts) and intake-only runs, for the crash tests and the soak. */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createLogger } from "../../app/logger.ts";
import { createRuntime } from "../../app/runtime.ts";
import { parseEnv } from "../../config/env.ts";
import { buildApp } from "../../http/app.ts";
import { createMetrics } from "../../http/metrics.ts";

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

export interface Worker {
  child: ChildProcess;
  exited: Promise<Exit>;
  /** Resolves once the worker prints "ready" (it takes jobs from then on). */
  ready: Promise<void>;
}

export function startWorker(env: Record<string, string>, args: string[]): Worker {
  const child = spawn(process.execPath, ["test/helpers/crash-worker.ts", ...args], {
    // Only what the worker needs: the developer's own REDIS_URL or tokens must not leak in.
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const ready = new Promise<void>((resolve) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("ready")) resolve();
    });
  });
  const exited = new Promise<Exit>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal, stderr }));
  });
  return { child, exited, ready };
}

/** A bound on a child's life, so a hung worker fails the test instead of hanging it. */
export async function within<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
  child?: ChildProcess,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      child?.kill("SIGKILL");
      reject(new Error(`${what} did not happen within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Stops a worker with SIGTERM (bounded), then SIGKILL. */
export async function stopWorker(worker: Worker): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  worker.child.kill("SIGTERM");
  await within(worker.exited, 15_000, "worker shutdown", worker.child).catch(() => undefined);
}

/** Intake only (`npm start -- --no-worker`): the webhook stores and enqueues each payload; returns the lead ids. */
export async function ingest(envVars: Record<string, string>, payloads: unknown[]): Promise<string[]> {
  const env = parseEnv({ LOG_LEVEL: "silent", ...envVars });
  const logger = createLogger({ level: "silent" });
  const metrics = createMetrics({ defaultMetrics: false });
  const runtime = await createRuntime(env, { logger, worker: false, metrics });
  const app = await buildApp({ service: runtime.service, env, logger, metrics });
  try {
    const ids: string[] = [];
    for (const payload of payloads) {
      const res = await app.inject({ method: "POST", url: "/webhooks/lead", payload: payload as object });
      if (res.statusCode !== 202) throw new Error(`intake answered ${res.statusCode}: ${res.body}`);
      ids.push(res.json<{ leadId: string }>().leadId);
    }
    return ids;
  } finally {
    await app.close();
    await runtime.close();
  }
}

export function logLines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
}
