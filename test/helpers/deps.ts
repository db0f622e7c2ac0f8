import { readFileSync } from "node:fs";
import { indexAccounts } from "../../app/index-accounts.ts";
import { silentLogger } from "../../app/logger.ts";
import type { PastAccount } from "../../domain/types.ts";
import type { GraphDeps } from "../../nodes/deps.ts";
import { MemoryCounters, MemoryLedger, MemoryRouteMemory } from "../../store/memory.ts";
import { createDerivedEnricher } from "../../tools/embedded/derived-enricher.ts";
import { createFirmographicsEnricher, loadCompanies } from "../../tools/embedded/firmographics-enricher.ts";
import { createProfileEmbedder } from "../../tools/embedded/hashing-embedder.ts";
import { MemoryVectorIndex } from "../../tools/embedded/memory-index.ts";
import { NoLlm } from "../../tools/embedded/no-llm.ts";
import type { CrmCompany } from "../../tools/ports.ts";
import { recordingCrm, recordingNotifier } from "./fakes.ts";
import { shippedPrompts, shippedRouting, shippedScoring } from "./state.ts";

/** Offline graph deps over the shipped config and fixtures; CRM and notifier are recording fakes. */
export async function testDeps(overrides: Partial<GraphDeps> = {}) {
  const crmSeed = JSON.parse(readFileSync("fixtures/crm-companies.json", "utf8")) as CrmCompany[];
  const crm = recordingCrm(crmSeed);
  const notifier = recordingNotifier();
  const embedder = createProfileEmbedder();
  const vectorIndex = new MemoryVectorIndex();
  const accounts = JSON.parse(readFileSync("fixtures/accounts.json", "utf8")) as PastAccount[];
  await indexAccounts(accounts, embedder, vectorIndex, { batchSize: 100 });
  const routing = shippedRouting();
  const scoring = shippedScoring();
  const prompts = shippedPrompts();
  const deps: GraphDeps = {
    llm: new NoLlm(),
    embedder,
    vectorIndex,
    crm,
    notifier,
    enrichers: [
      createDerivedEnricher(),
      createFirmographicsEnricher(loadCompanies("fixtures/companies.json")),
    ],
    counters: new MemoryCounters(),
    ledger: new MemoryLedger(),
    routeMemory: new MemoryRouteMemory(),
    logger: silentLogger,
    routing: () => routing,
    scoring: () => scoring,
    prompts: () => prompts,
    clock: () => new Date("2026-11-21T10:00:00Z"),
    ...overrides,
  };
  return { deps, crm, notifier };
}

export function sampleCases(): Array<{
  id: string;
  payload: unknown;
  expectedOwner: string;
  expectedTier: string;
}> {
  return JSON.parse(readFileSync("fixtures/leads_sample.json", "utf8"));
}
