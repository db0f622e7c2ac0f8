/**
 * A queue worker process for the crash tests and the soak: the service's own runtime (profile from
 * REDIS_URL, data in DATA_DIR, vendors from their variables), plus test-only instrumentation passed as
 * arguments, never through the service's config:
 *
 *   --kill-after <node>          SIGKILL this process as soon as the checkpoint holding <node>'s result is written
 *   --kill-after-effect <kind>   SIGKILL it right after a vendor write of that kind (message, contact, note,
 *                                task) returned, before the ledger records it
 *   --log <file>                 append "start <leadId> <node>" when a node starts and "effect <kind> <leadId>"
 *                                for every owner message posted, CRM contact upserted, note and task written
 *   --concurrency <n>            leads at once (default: WORKER_CONCURRENCY)
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
  options: {
    "kill-after": { type: "string" },
    "kill-after-effect": { type: "string" },
    log: { type: "string" },
    concurrency: { type: "string" },
  },
});
const killAfter = values["kill-after"];
const killAfterEffect = values["kill-after-effect"];
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

/** Logs a vendor write once it returned, then dies there if asked: the window before the ledger commit. */
function effect(kind: string, leadId: string): void {
  note(`effect ${kind} ${leadId}`);
  if (kind === killAfterEffect) process.kill(process.pid, "SIGKILL");
}

const CRM_WRITES: Record<string, string> = { upsertContact: "contact", addNote: "note", createTask: "task" };

function noteEffects(deps: GraphDeps): GraphDeps {
  return {
    ...deps,
    notifier: {
      name: deps.notifier.name,
      findPosted: (message, after) => deps.notifier.findPosted(message, after),
      async send(message, previous) {
        const posted = await deps.notifier.send(message, previous);
        effect(previous ? "message-update" : "message", message.leadId);
        return posted;
      },
    },
    crm: new Proxy(deps.crm, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== "function") return value;
        const kind = CRM_WRITES[String(prop)];
        if (!kind) return value.bind(target);
        return async (...args: unknown[]) => {
          const result = await value.apply(target, args);
          // The lead is the contact's, or the one the note's or task's effect key names.
          const leadId =
            kind === "contact"
              ? (args[0] as { leadId: string }).leadId
              : String(
                  (kind === "note" ? args[2] : (args[1] as { effectKey?: string }).effectKey) ?? "",
                ).split(":")[0];
          effect(kind, leadId ?? "");
          return result;
        };
      },
    }),
  };
}

const concurrency = values.concurrency ? { WORKER_CONCURRENCY: values.concurrency } : {};
const env = loadEnv(concurrency);
const logger = createLogger({ level: env.LOG_LEVEL });
const runtime = await createRuntime(env, {
  logger,
  worker: true,
  // Short leases so a restarted worker takes the killed one's job and ledger claims back quickly; on a
  // loaded machine a live worker can miss a 1.5 s lock renewal, so stalls are not counted against the job.
  queue: {
    attempts: 5,
    backoffMs: 50,
    pollMs: 20,
    leaseMs: 1500,
    stalledIntervalMs: 500,
    maxStalledCount: 50,
  },
  ledgerLeaseMs: 1500,
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
