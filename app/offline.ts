/**
 * One-shot runs for the CLI (`leadgraph run`, `route`, `routing test`): the graph on in-memory counters,
 * ledger and checkpointer. Vendors are never reached by accident: unless `live` is set, every port gets its
 * embedded stand-in even when vendor credentials are in the environment.
 */
import type { Env } from "../config/env.ts";
import { loadRevOpsConfig } from "../config/revops.ts";
import { type CaseOutcome, type LeadCase, runCases } from "../graph/batch.ts";
import { buildLeadGraph, type PreviewOptions, previewLead } from "../graph/build.ts";
import { type CasesReport, evaluateCases } from "../graph/labelled-cases.ts";
import type { LeadState } from "../graph/state.ts";
import { MemoryCounters, MemoryLedger, MemoryRouteMemory } from "../store/memory.ts";
import { type AdapterChoice, createGraphDeps, embeddedOnly } from "./adapters.ts";
import { silentLogger } from "./logger.ts";

export type { CaseOutcome, LeadCase } from "../graph/batch.ts";
export { toCases } from "../graph/batch.ts";
export type { CaseResult, CasesReport } from "../graph/labelled-cases.ts";
export type { LeadState } from "../graph/state.ts";

export interface OfflineLeads {
  /** The adapter of every port, as the service logs them at start. */
  adapters: AdapterChoice[];
  /** Runs each case through the whole graph (messages go to the in-memory outbox, the CRM is local). */
  run(cases: LeadCase[], options?: { concurrency?: number }): Promise<CaseOutcome[]>;
  /** Who a lead would get and why: capture → enrich → scoreLead → routeLead, nothing sent or counted. */
  preview(raw: unknown, options?: PreviewOptions): Promise<LeadState>;
  /** Dry-runs labelled cases and scores owner and tier accuracy. */
  evaluate(cases: LeadCase[]): Promise<CasesReport>;
  close(): Promise<void>;
}

export async function openOffline(env: Env, options: { live?: boolean } = {}): Promise<OfflineLeads> {
  const config = loadRevOpsConfig(env, { logger: silentLogger });
  const built = await createGraphDeps(options.live ? env : embeddedOnly(env), {
    logger: silentLogger,
    counters: new MemoryCounters(),
    ledger: new MemoryLedger(),
    routeMemory: new MemoryRouteMemory(),
    config,
  });
  const { deps } = built;
  let graph: ReturnType<typeof buildLeadGraph> | undefined;
  return {
    adapters: built.adapters,
    run(cases, runOptions = {}) {
      graph ??= buildLeadGraph(deps);
      return runCases(graph, cases, runOptions);
    },
    preview(raw, previewOptions = {}) {
      return previewLead(
        deps,
        { leadId: "preview", receivedAt: deps.clock().toISOString(), raw },
        previewOptions,
      );
    },
    // --live scores as a real run would, the LLM included.
    evaluate: (cases) => evaluateCases(deps, cases, { llm: options.live ?? false }),
    close: () => built.close(),
  };
}
