/**
 * The adapter registry: environment → one adapter per port (docs/architecture.md, "Ports and adapters").
 * Each vendor adapter switches on when its credentials are set; otherwise the embedded stand-in runs.
 * A vendor adapter's module (and its SDK) is imported only when it is picked: a process that runs on the
 * stand-ins never loads the OpenAI, Pinecone, HubSpot or Slack SDKs (issue 12: idle memory).
 */
import { join, resolve } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import type { Env } from "../config/env.ts";
import type { RevOpsConfig } from "../config/revops.ts";
import type { Counters, LlmUsage, RouteMemory } from "../domain/types.ts";
import type { GraphDeps } from "../nodes/deps.ts";
import { createDerivedEnricher } from "../tools/embedded/derived-enricher.ts";
import { createFirmographicsEnricher, loadCompanies } from "../tools/embedded/firmographics-enricher.ts";
import { createProfileEmbedder } from "../tools/embedded/hashing-embedder.ts";
import { LocalCrm, loadCrmSeed } from "../tools/embedded/local-crm.ts";
import { MemoryVectorIndex } from "../tools/embedded/memory-index.ts";
import { NoLlm } from "../tools/embedded/no-llm.ts";
import { OutboxNotifier } from "../tools/embedded/outbox-notifier.ts";
import type { WriteBatch } from "../tools/embedded/sqlite-writes.ts";
import type { Crm, Embedder, Enricher, Ledger, Llm, Logger, Notifier, VectorIndex } from "../tools/ports.ts";
import { loadPastAccounts, localAccountsSource, writeLocalAccounts } from "./accounts-file.ts";
import { indexAccounts } from "./index-accounts.ts";

/** Vendor credentials removed: every port gets its embedded stand-in (offline CLI commands without --live). */
export function embeddedOnly(env: Env): Env {
  return {
    ...env,
    OPENAI_API_KEY: undefined,
    PINECONE_API_KEY: undefined,
    HUBSPOT_ACCESS_TOKEN: undefined,
    SLACK_BOT_TOKEN: undefined,
  };
}

export interface AdapterChoice {
  port: string;
  adapter: string;
}

/** The graph's ports as picked from the environment, with what was picked for the start-up log. */
export interface GraphAdapters {
  deps: GraphDeps;
  adapters: AdapterChoice[];
  close(): Promise<void>;
}

/** The adapter list after some ports were replaced (tests, library users): a replaced port is named by its replacement. */
export function namedAfterOverrides(choices: AdapterChoice[], deps: GraphDeps): AdapterChoice[] {
  return choices.map((a) => {
    const port = deps[a.port as keyof GraphDeps] as { name?: unknown } | undefined;
    return typeof port?.name === "string" && port.name !== a.adapter && a.port !== "enrichers"
      ? { port: a.port, adapter: port.name }
      : a;
  });
}

async function pickEmbedder(env: Env): Promise<Embedder> {
  if (!env.OPENAI_API_KEY) return createProfileEmbedder();
  const { OpenAiEmbedder } = await import("../tools/openai/openai-embedder.ts");
  return new OpenAiEmbedder({
    apiKey: env.OPENAI_API_KEY,
    model: env.OPENAI_EMBEDDING_MODEL,
    ...(env.OPENAI_BASE_URL ? { baseURL: env.OPENAI_BASE_URL } : {}),
  });
}

async function pickVectorIndex(env: Env): Promise<VectorIndex> {
  if (!(env.PINECONE_API_KEY && env.PINECONE_INDEX)) return new MemoryVectorIndex();
  const { PineconeIndex } = await import("../tools/pinecone/pinecone-index.ts");
  return new PineconeIndex({
    apiKey: env.PINECONE_API_KEY,
    index: env.PINECONE_INDEX,
    ...(env.PINECONE_HOST ? { host: env.PINECONE_HOST } : {}),
    ...(env.PINECONE_NAMESPACE ? { namespace: env.PINECONE_NAMESPACE } : {}),
  });
}

async function pickLlm(env: Env): Promise<Llm> {
  if (!env.OPENAI_API_KEY) return new NoLlm();
  const { OpenAiLlm } = await import("../tools/openai/openai-llm.ts");
  return new OpenAiLlm({
    apiKey: env.OPENAI_API_KEY,
    model: env.OPENAI_MODEL,
    ...(env.OPENAI_BASE_URL ? { baseURL: env.OPENAI_BASE_URL } : {}),
  });
}

/**
 * Builds every port of the graph. `standIns` is the database the local CRM and the outbox keep their tables
 * in (the service's `DATA_DIR/leadgraph.db`); without it they live in memory (one-shot CLI runs, tests).
 */
export async function createGraphDeps(
  env: Env,
  options: {
    logger: Logger;
    counters: Counters;
    ledger: Ledger;
    routeMemory?: RouteMemory;
    config: RevOpsConfig;
    standIns?: DatabaseSync;
    /** The service's group commit on `standIns`: the stand-ins' writes commit with the rest of a turn's. */
    standInWrites?: WriteBatch;
    /** The corpus of the in-process similar-accounts index; default DATA_DIR's indexed one, else the fixtures'. */
    accountsFile?: string;
    clock?: () => Date;
    onLlmUsage?: (usage: LlmUsage) => void;
  },
): Promise<GraphAdapters> {
  const { logger } = options;
  const db = options.standIns;
  const fixtures = env.FIXTURES_DIR;

  const [llm, embedder, vectorIndex] = await Promise.all([
    pickLlm(env),
    pickEmbedder(env),
    pickVectorIndex(env),
  ]);
  if (vectorIndex instanceof MemoryVectorIndex)
    await indexAccounts(
      loadPastAccounts(options.accountsFile ?? localAccountsSource(resolve(env.DATA_DIR), fixtures)),
      embedder,
      vectorIndex,
      { batchSize: 100 },
    );

  let crm: Crm;
  const enrichers: Enricher[] = [
    createDerivedEnricher(),
    createFirmographicsEnricher(loadCompanies(join(fixtures, "companies.json"))),
  ];
  if (env.HUBSPOT_ACCESS_TOKEN) {
    const [{ HubSpotCrm }, { HubSpotCompanyEnricher }] = await Promise.all([
      import("../tools/hubspot/hubspot-crm.ts"),
      import("../tools/hubspot/hubspot-company-enricher.ts"),
    ]);
    const hubspot = new HubSpotCrm({
      accessToken: env.HUBSPOT_ACCESS_TOKEN,
      ...(env.HUBSPOT_BASE_PATH ? { basePath: env.HUBSPOT_BASE_PATH } : {}),
      ...(env.HUBSPOT_PORTAL_ID ? { portalId: env.HUBSPOT_PORTAL_ID, appUrl: env.HUBSPOT_APP_URL } : {}),
    });
    crm = hubspot;
    enrichers.push(new HubSpotCompanyEnricher(hubspot));
  } else {
    crm = new LocalCrm({
      ...(db ? { db } : {}),
      ...(options.standInWrites ? { batch: options.standInWrites } : {}),
      seedCompanies: loadCrmSeed(join(fixtures, "crm-companies.json")),
    });
  }

  let notifier: Notifier;
  if (env.SLACK_BOT_TOKEN) {
    const { SlackNotifier } = await import("../tools/slack/slack-notifier.ts");
    notifier = new SlackNotifier({
      token: env.SLACK_BOT_TOKEN,
      ...(env.SLACK_API_URL ? { slackApiUrl: env.SLACK_API_URL } : {}),
      ...(env.SLACK_DEFAULT_CHANNEL ? { defaultChannel: env.SLACK_DEFAULT_CHANNEL } : {}),
    });
  } else {
    notifier = new OutboxNotifier({
      ...(db ? { db } : {}),
      ...(options.standInWrites ? { batch: options.standInWrites } : {}),
      logger,
    });
  }

  const deps: GraphDeps = {
    llm,
    embedder,
    vectorIndex,
    crm,
    notifier,
    enrichers,
    counters: options.counters,
    ledger: options.ledger,
    ...(options.routeMemory ? { routeMemory: options.routeMemory } : {}),
    logger,
    routing: options.config.routing,
    scoring: options.config.scoring,
    prompts: options.config.prompts,
    configVersions: () => {
      const versions = options.config.versions();
      return { routing: versions.routing.hash, scoring: versions.scoring.hash };
    },
    clock: options.clock ?? (() => new Date()),
    ...(env.PUBLIC_URL ? { publicUrl: env.PUBLIC_URL } : {}),
    ...(options.onLlmUsage ? { onLlmUsage: options.onLlmUsage } : {}),
  };
  const adapters: AdapterChoice[] = [
    { port: "llm", adapter: llm.name },
    { port: "embedder", adapter: embedder.name },
    { port: "vectorIndex", adapter: vectorIndex.name },
    { port: "crm", adapter: crm.name },
    { port: "notifier", adapter: notifier.name },
    { port: "enrichers", adapter: enrichers.map((e) => e.name).join(" → ") },
  ];
  return {
    deps,
    adapters,
    close: async () => {
      options.config.close();
    },
  };
}

/**
 * `leadgraph accounts index <file>`: with Pinecone, embeds and upserts the accounts with stable ids; with the
 * local index, stores the validated corpus in DATA_DIR, where the service's in-process index loads it at start.
 * Either way a second run changes nothing.
 */
export async function indexAccountsCommand(env: Env, file: string): Promise<number> {
  const accounts = loadPastAccounts(file);
  const index = await pickVectorIndex(env);
  if (index instanceof MemoryVectorIndex) {
    const path = writeLocalAccounts(resolve(env.DATA_DIR), accounts);
    console.log(
      `${accounts.length} accounts stored in ${path}; the local index loads them when the service starts`,
    );
    return 0;
  }
  const embedder = await pickEmbedder(env);
  const result = await indexAccounts(accounts, embedder, index, { batchSize: 100 });
  console.log(`indexed into ${index.name} with ${embedder.name}: ${JSON.stringify(result)}`);
  return 0;
}
