/**
 * The three RevOps files together: checked at once, loaded at start, routing.json watched for edits, each
 * loaded version of routing.json and scoring.json identified by the hash of its text.
 */
import { readFileSync } from "node:fs";
import type { Prompts } from "../domain/prompt.ts";
import type { RoutingConfig } from "../domain/routing/schema.ts";
import type { ScoringConfig } from "../domain/scoring/schema.ts";
import type { Env } from "./env.ts";
import { loadPrompts } from "./prompts.ts";
import {
  type ConfigLogger,
  type ConfigVersion,
  configVersion,
  loadRoutingFile,
  watchRoutingFile,
} from "./routing.ts";
import { loadScoringFile } from "./scoring.ts";
import { type ConfigProblem, formatProblems } from "./validation.ts";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly problems: Array<{ file: string; errors: ConfigProblem[] }>;
  constructor(problems: Array<{ file: string; errors: ConfigProblem[] }>) {
    super(`invalid configuration:\n${problems.map((p) => formatProblems(p.file, p.errors)).join("\n")}`);
    this.problems = problems;
  }
}

export type ConfigKind = "routing" | "scoring";

export interface RevOpsConfig {
  routing: () => RoutingConfig;
  scoring: () => ScoringConfig;
  prompts: () => Prompts;
  /** The versions in force. */
  versions(): Record<ConfigKind, ConfigVersion>;
  close(): void;
}

export interface LoadRevOpsOptions {
  logger: ConfigLogger;
  /** routing.json reloads on change (the last good version stays in force on a bad edit). */
  watch?: boolean;
  /** Each version as it is loaded, at start and on every reload (history). */
  onVersion?: (kind: ConfigKind, version: ConfigVersion) => void;
}

/** Every problem in the three RevOps files (empty when all are valid). */
export function checkRevOpsFiles(env: Env): Array<{ file: string; errors: ConfigProblem[] }> {
  const problems: Array<{ file: string; errors: ConfigProblem[] }> = [];
  const routing = loadRoutingFile(env.ROUTING_FILE);
  if (!routing.ok) problems.push({ file: env.ROUTING_FILE, errors: routing.errors });
  const scoring = loadScoringFile(env.SCORING_FILE);
  if (!scoring.ok) problems.push({ file: env.SCORING_FILE, errors: scoring.errors });
  const prompts = loadPrompts(env.PROMPTS_DIR);
  if (!prompts.ok) problems.push({ file: env.PROMPTS_DIR, errors: prompts.errors });
  return problems;
}

/** Loads and validates the RevOps files; with `watch`, routing.json reloads on change and keeps the last good version. */
export function loadRevOpsConfig(env: Env, options: LoadRevOpsOptions): RevOpsConfig {
  const problems = checkRevOpsFiles(env);
  if (problems.length > 0) throw new ConfigError(problems);
  const scoring = loadScoringFile(env.SCORING_FILE);
  const prompts = loadPrompts(env.PROMPTS_DIR);
  if (!scoring.ok || !prompts.ok) throw new ConfigError(problems);
  const scoringVersion = configVersion(env.SCORING_FILE, readFileSync(env.SCORING_FILE, "utf8"));
  const { onVersion } = options;
  let routing: Pick<RevOpsConfig, "routing" | "close"> & { version: () => ConfigVersion };
  if (options.watch) {
    const watcher = watchRoutingFile(env.ROUTING_FILE, {
      logger: options.logger,
      ...(onVersion ? { onChange: (_config, version) => onVersion("routing", version) } : {}),
    });
    routing = {
      routing: () => watcher.current(),
      version: () => watcher.version(),
      close: () => watcher.close(),
    };
  } else {
    const loaded = loadRoutingFile(env.ROUTING_FILE);
    if (!loaded.ok) throw new ConfigError(problems);
    const version = configVersion(env.ROUTING_FILE, readFileSync(env.ROUTING_FILE, "utf8"));
    routing = { routing: () => loaded.config, version: () => version, close: () => {} };
  }
  onVersion?.("routing", routing.version());
  onVersion?.("scoring", scoringVersion);
  return {
    routing: routing.routing,
    scoring: () => scoring.config,
    prompts: () => prompts.config,
    versions: () => ({ routing: routing.version(), scoring: scoringVersion }),
    close: routing.close,
  };
}
