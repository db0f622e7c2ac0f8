/**
 * The service: builds the runtime and the app and listens on HOST:PORT. With no environment at all it runs
 * host and worker on the embedded profile; `--no-worker` ingests only (workers run as `leadgraph worker`).
 * SIGTERM/SIGINT: stop intake, let running leads finish (bounded), close every connection.
 */
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { createLogger } from "./app/logger.ts";
import { createRuntime } from "./app/runtime.ts";
import { type Env, loadEnv } from "./config/env.ts";
import { buildApp } from "./http/app.ts";
import { createMetrics } from "./http/metrics.ts";

/** How long shutdown waits for running leads before leaving them to be resumed at the next start. */
export const SHUTDOWN_DRAIN_MS = 25_000;

function onShutdownSignal(handler: (signal: NodeJS.Signals) => Promise<void>): void {
  let stopping = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, (received) => {
      if (stopping) return;
      stopping = true;
      handler(received).then(
        () => {
          process.exitCode ??= 0;
          // Everything is closed; a stray handle (a file watcher, a socket in TIME_WAIT) must not keep us up.
          setTimeout(() => process.exit(), 2000).unref();
        },
        (err: unknown) => {
          console.error(err);
          process.exitCode = 1;
        },
      );
    });
  }
}

export async function startServer(env: Env, options: { worker: boolean }): Promise<void> {
  const logger = createLogger({ level: env.LOG_LEVEL });
  const metrics = createMetrics();
  const runtime = await createRuntime(env, { logger, worker: options.worker, metrics });
  const app = await buildApp({ service: runtime.service, env, logger, metrics });
  onShutdownSignal(async (signal) => {
    logger.info({ signal }, "shutting down: intake stops, running leads get time to finish");
    await app.close();
    await runtime.close({ timeoutMs: SHUTDOWN_DRAIN_MS });
    logger.info({}, "stopped");
    logger.flush();
  });
  await app.listen({ host: env.HOST, port: env.PORT });
}

/** `leadgraph worker`: queue workers only, until SIGTERM/SIGINT. Resolves with the exit code. */
export async function runWorkers(env: Env): Promise<number> {
  const logger = createLogger({ level: env.LOG_LEVEL });
  const runtime = await createRuntime(env, { logger, worker: true });
  logger.info({ concurrency: env.WORKER_CONCURRENCY, profile: runtime.profile }, "worker started");
  return new Promise<number>((resolve) => {
    onShutdownSignal(async (signal) => {
      logger.info({ signal }, "worker shutting down");
      await runtime.close({ timeoutMs: SHUTDOWN_DRAIN_MS });
      logger.flush();
      resolve(0);
    });
  });
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { "no-worker": { type: "boolean", default: false } },
  });
  startServer(loadEnv(), { worker: !values["no-worker"] }).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
