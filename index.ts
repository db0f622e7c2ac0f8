/**
 * LeadGraph's public API: what `import … from "leadgraph"` gives another project (README, "Use it as a
 * library"; docs/architecture.md for the layout). Anything not exported here is internal and may change.
 */

// ------------------------------------------------------------------ The graph: build it, or rewire it
// LangGraph's own builders are re-exported so that a project extending the graph uses the very copy of
// @langchain/langgraph that the nodes and LeadStateAnnotation were made with.
export { Annotation, END, MemorySaver, START, StateGraph } from "@langchain/langgraph";
// ------------------------------------------------------------------ Composition: ports, runtime, service
export { type AdapterChoice, createGraphDeps, embeddedOnly, type GraphAdapters } from "./app/adapters.ts";
export { createEmbeddedDeps, type EmbeddedDepsOptions } from "./app/embedded-deps.ts";
export type {
  AcceptResult,
  ActResult,
  Delivery,
  LeadPage,
  LeadRecord,
  LeadService,
  LeadStatus,
  OwnerAction,
  Ownership,
  PreviewResult,
  RetryResult,
  TimelineEntry,
} from "./app/lead-service.ts";
export { createLogger, silentLogger } from "./app/logger.ts";
export { type OfflineLeads, openOffline } from "./app/offline.ts";
export { createRuntime, type LeadRuntime, type Profile, type RuntimeOptions } from "./app/runtime.ts";
export { studioGraph } from "./app/studio-graph.ts";
// ------------------------------------------------------------------ Configuration: environment and RevOps files
export { type Env, EnvError, loadEnv, parseEnv } from "./config/env.ts";
export { loadPrompts } from "./config/prompts.ts";
export { ConfigError, checkRevOpsFiles, loadRevOpsConfig, type RevOpsConfig } from "./config/revops.ts";
export {
  type ConfigLogger,
  loadRoutingFile,
  parseRoutingConfig,
  RoutingConfigError,
  type RoutingWatcher,
  watchRoutingFile,
} from "./config/routing.ts";
export { loadScoringFile, parseScoringConfig } from "./config/scoring.ts";
export { type ConfigProblem, formatProblems, type Parsed } from "./config/validation.ts";
// ------------------------------------------------------------------ Domain: lead types, routing engine, scoring rules
// `routeLead` is the routing engine itself: facts + routing.json + counters → owner and explanation. With
// `dryRun: true` (or readOnlyCounters) it predicts the pick and moves no counter.
export type { Prompts } from "./domain/prompt.ts";
export {
  factsFromState,
  type RouteDecision,
  type RouteOptions,
  type RoutingFacts,
  routeLead,
  toRoute,
} from "./domain/routing/engine.ts";
export type {
  Assignment,
  Conditions,
  Owner,
  Pool,
  Queue,
  RoutingConfig,
  RoutingRule,
} from "./domain/routing/schema.ts";
export { scoreByRules, tierOf } from "./domain/scoring/rules.ts";
export type { ScoringConfig } from "./domain/scoring/schema.ts";
export type { LeadSnapshot, LeadStateValues } from "./domain/snapshot.ts";
export type * from "./domain/types.ts";
export {
  buildLeadGraph,
  defineLeadGraph,
  initialState,
  type LeadGraph,
  leadGraphNodes,
  NODE_IDS,
  type NodeId,
  type PreviewOptions,
  previewLead,
  readOnlyCounters,
} from "./graph/build.ts";
export { pathAfterRouting } from "./graph/edges.ts";
export { type LeadInput, type LeadState, LeadStateAnnotation, type LeadUpdate } from "./graph/state.ts";
export { InvalidLeadError } from "./nodes/capture.ts";
export type { GraphDeps, LeadNode } from "./nodes/deps.ts";
export { MemoryCounters, MemoryLedger } from "./store/memory.ts";
// ------------------------------------------------------------------ Embedded adapters (no credentials, no network)
export { createDerivedEnricher } from "./tools/embedded/derived-enricher.ts";
export {
  type CompanyRecord,
  createFirmographicsEnricher,
  loadCompanies,
} from "./tools/embedded/firmographics-enricher.ts";
export { createProfileEmbedder, HashingEmbedder } from "./tools/embedded/hashing-embedder.ts";
export { LocalCrm, type LocalCrmOptions, loadCrmSeed } from "./tools/embedded/local-crm.ts";
export { MemoryVectorIndex } from "./tools/embedded/memory-index.ts";
export { NoLlm } from "./tools/embedded/no-llm.ts";
export {
  OutboxNotifier,
  type OutboxNotifierOptions,
  type OutboxRecord,
} from "./tools/embedded/outbox-notifier.ts";
// ------------------------------------------------------------------ Vendor adapters
export { HubSpotCompanyEnricher } from "./tools/hubspot/hubspot-company-enricher.ts";
export { HubSpotCrm } from "./tools/hubspot/hubspot-crm.ts";
export { OpenAiEmbedder } from "./tools/openai/openai-embedder.ts";
export { OpenAiLlm } from "./tools/openai/openai-llm.ts";
export { PineconeIndex } from "./tools/pinecone/pinecone-index.ts";
// ------------------------------------------------------------------ Ports
export type * from "./tools/ports.ts";
export { SlackNotifier } from "./tools/slack/slack-notifier.ts";
