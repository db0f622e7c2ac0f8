/**
 * A queue worker process for the crash tests: the service's own runtime (profile from REDIS_URL, data in
 * DATA_DIR), plus test-only instrumentation passed as arguments, never through the service's config:
 *
 *   --kill-after <node>  SIGKILL this process as soon as the checkpoint holding <node>'s result is written
 *   --log <file>         append "start <leadId> <node>" when a node starts and "effect <kind> <leadId>"
 *                        for every owner message posted and CRM contact upserted
 *
 * Prints "ready" on stdout once the worker is taking jobs; SIGTERM stops it cleanly.
 */
import { appendFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { BaseCheckpointSaver, Checkpoint } from "@langchain/langgraph";
import { createLogger } from "../../app/logger.ts";
import { createRuntime } from "../../app/runtime.ts";
import { loadEnv } from "../../config/env.ts";
import type { GraphDeps } from "../../nodes/deps.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { "kill-after": { type: "string" }, log: { type: "string" } },
});
const killAfter = values["kill-after"];
const logFile = values.log;
const note = (line: string) => {
  if (logFile) appendFileSync(logFile, `${line}\n`);
};

/** Kills the process right after the first checkpoint that records `node` as having run. */
function killAfterCheckpointOf(node: string) {
  return (saver: BaseCheckpointSaver): BaseCheckpointSaver =>
    new Proxy(saver, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== "function") return value;
        if (prop !== "put") return value.bind(target);
        return async (...args: unknown[]) => {
          const written = await value.apply(target, args);
          const checkpoint = args[1] as Checkpoint;
          if (checkpoint.versions_seen[node] !== undefined) process.kill(process.pid, "SIGKILL");
          return written;
        };
      },
    });
}

function noteEffects(deps: GraphDeps): GraphDeps {
  return {
    ...deps,
    notifier: {
      name: deps.notifier.name,
      async send(message, previous) {
        const posted = await deps.notifier.send(message, previous);
        note(`effect ${previous ? "message-update" : "message"} ${message.leadId}`);
        return posted;
      },
    },
    crm: new Proxy(deps.crm, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== "function") return value;
        if (prop !== "upsertContact") return value.bind(target);
        return async (contact: { leadId: string }) => {
          const result = await value.call(target, contact);
          note(`effect contact ${contact.leadId}`);
          return result;
        };
      },
    }),
  };
}

const env = loadEnv();
const logger = createLogger({ level: env.LOG_LEVEL });
const runtime = await createRuntime(env, {
  logger,
  worker: true,
  // Short leases so a restarted worker takes the killed one's job back quickly.
  queue: { attempts: 3, backoffMs: 50, pollMs: 20, leaseMs: 1500, stalledIntervalMs: 500 },
  hooks: { onNodeStart: (leadId, node) => note(`start ${leadId} ${node}`) },
  overrideDeps: noteEffects,
  ...(killAfter ? { instrumentCheckpointer: killAfterCheckpointOf(killAfter) } : {}),
});
process.stdout.write("ready\n");
process.once("SIGTERM", () => {
  runtime.close({ timeoutMs: 5000 }).then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
