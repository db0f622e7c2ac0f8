/**
 * The service: builds the runtime and the app and listens on HOST:PORT. With no environment at all it runs
 * host and worker on the embedded profile; `--no-worker` ingests only (workers run as `leadgraph worker`).
 * Once idle after start-up and after each busy spell, it hands memory back (app/memory-release.ts).
 * SIGTERM/SIGINT (close-with-grace): stop intake, let running leads finish (bounded), close every
 * connection; whatever is not done by SHUTDOWN_TIMEOUT_MS is cut short with exit code 1, and a second
 * signal exits at once. An uncaught error closes the same way and exits 1. A bad environment prints every
 * problem and exits 1, with no stack trace.
 */
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import closeWithGrace from "close-with-grace";
import { createLogger } from "./app/logger.ts";
import { startMemoryRelease } from "./app/memory-release.ts";
import { createRuntime } from "./app/runtime.ts";
import { type Env, loadEnv } from "./config/env.ts";
import { buildApp } from "./http/app.ts";
import { createMetrics } from "./http/metrics.ts";

/** What the shutdown keeps for closing connections after running leads had their time. */
const SHUTDOWN_CLOSE_MS = 3_000;

/** How long shutdown waits for running leads before leaving them to be resumed at the next start. */
export function drainMs(env: Env): number {
  return Math.max(0, env.SHUTDOWN_TIMEOUT_MS - SHUTDOWN_CLOSE_MS);
}

type ServiceLogger = ReturnType<typeof createLogger>;

/** Runs `close` once on SIGTERM/SIGINT (or an uncaught error), then exits; bounded by the deadline. */
function closeOnSignal(env: Env, logger: ServiceLogger, what: string, close: () => Promise<void>): void {
  closeWithGrace(
    {
      delay: env.SHUTDOWN_TIMEOUT_MS,
      logger: {
        error: (message: unknown) =>
          logger.error({}, typeof message === "string" ? message : "shutdown failed"),
      },
      onTimeout: (delay) => logger.error({ delay }, "shutdown deadline passed: exiting with work unfinished"),
    },
    async ({ signal, err }) => {
      if (err)
        logger.error({ err: { name: err.name, message: err.message, stack: err.stack } }, "uncaught error");
      logger.info({ signal }, `${what} shutting down`);
      await close();
      logger.info({}, "stopped");
      // close-with-grace exits right after this: the log lines must be out first.
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
    },
  );
}

export async function startServer(env: Env, options: { worker: boolean }): Promise<void> {
  const logger = createLogger({ level: env.LOG_LEVEL });
  const metrics = createMetrics();
  const runtime = await createRuntime(env, { logger, worker: options.worker, metrics });
  const app = await buildApp({ service: runtime.service, env, logger, metrics });
  const memory = startMemoryRelease({ logger });
  // Intake stops first (no new leads, in-flight requests finish), then running leads get time to finish.
  closeOnSignal(env, logger, "service", async () => {
    memory.stop();
    await app.close();
    await runtime.close({ timeoutMs: drainMs(env) });
  });
  await app.listen({ host: env.HOST, port: env.PORT });
}

/** `leadgraph worker`: queue workers only, until SIGTERM/SIGINT, which exit the process. */
export async function runWorkers(env: Env): Promise<never> {
  const logger = createLogger({ level: env.LOG_LEVEL });
  const runtime = await createRuntime(env, { logger, worker: true });
  const memory = startMemoryRelease({ logger });
  closeOnSignal(env, logger, "worker", () => {
    memory.stop();
    return runtime.close({ timeoutMs: drainMs(env) });
  });
  logger.info({ concurrency: env.WORKER_CONCURRENCY, profile: runtime.profile }, "worker started");
  return new Promise<never>(() => {});
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
  // Bad arguments and a bad environment throw synchronously: inside the promise chain their message is
  // printed like any other start-up failure, not as an uncaught exception with a stack trace.
  Promise.resolve()
    .then(() => {
      const { values } = parseArgs({
        args: process.argv.slice(2),
        options: { "no-worker": { type: "boolean", default: false } },
      });
      return startServer(loadEnv(), { worker: !values["no-worker"] });
    })
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(1);
    });
}
