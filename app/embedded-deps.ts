/**
 * The graph's ports on the embedded stand-ins, without environment plumbing: what a library user, the
 * example in examples/custom-crm and the LangGraph dev server build the graph on. Vendor credentials are
 * never looked at; counters and the ledger are in memory; replace any port with `overrides`.
 */
import { join } from "node:path";
import { parseEnv } from "../config/env.ts";
import { loadRevOpsConfig } from "../config/revops.ts";
import type { Counters } from "../domain/types.ts";
import type { GraphDeps } from "../nodes/deps.ts";
import { MemoryCounters, MemoryLedger } from "../store/memory.ts";
import type { Ledger, Logger } from "../tools/ports.ts";
import { createGraphDeps, embeddedOnly, type GraphAdapters, namedAfterOverrides } from "./adapters.ts";
import { openDatabase } from "./database.ts";
import { silentLogger } from "./logger.ts";

export interface EmbeddedDepsOptions {
  /** The RevOps files; each defaults to the one shipped with LeadGraph. */
  routingFile?: string;
  scoringFile?: string;
  promptsDir?: string;
  /** Firmographics, CRM seed and past accounts (companies.json, crm-companies.json, accounts.json). */
  fixturesDir?: string;
  /** Keeps the local CRM and the Slack outbox as tables of `leadgraph.db` in this directory; in memory when absent. */
  dataDir?: string;
  logger?: Logger;
  counters?: Counters;
  ledger?: Ledger;
  clock?: () => Date;
  /** Ports to use instead of the embedded ones (your own `crm`, `notifier`, `llm`, ...). */
  overrides?: Partial<GraphDeps>;
}

export async function createEmbeddedDeps(options: EmbeddedDepsOptions = {}): Promise<GraphAdapters> {
  const env = embeddedOnly(
    parseEnv({
      ROUTING_FILE: options.routingFile,
      SCORING_FILE: options.scoringFile,
      PROMPTS_DIR: options.promptsDir,
      FIXTURES_DIR: options.fixturesDir,
      DATA_DIR: options.dataDir,
    }),
  );
  const logger = options.logger ?? silentLogger;
  const config = loadRevOpsConfig(env, { logger });
  const standIns = options.dataDir === undefined ? undefined : openDatabase(options.dataDir).db;
  const built = await createGraphDeps(env, {
    logger,
    counters: options.counters ?? new MemoryCounters(),
    ledger: options.ledger ?? new MemoryLedger(),
    config,
    ...(standIns ? { standIns } : {}),
    // Only the given data directory's corpus counts, never a `.data/` that happens to be in the working directory.
    ...(options.dataDir === undefined ? { accountsFile: join(env.FIXTURES_DIR, "accounts.json") } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const deps: GraphDeps = { ...built.deps, ...options.overrides };
  return {
    deps,
    adapters: namedAfterOverrides(built.adapters, deps),
    async close() {
      await built.close();
      if (standIns?.isOpen) standIns.close();
    },
  };
}
