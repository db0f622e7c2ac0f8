/** The three RevOps files together: checked at once, loaded at start, routing.json watched for edits. */

import type { Prompts } from "../domain/prompt.ts";
import type { RoutingConfig } from "../domain/routing/schema.ts";
import type { ScoringConfig } from "../domain/scoring/schema.ts";
import type { Env } from "./env.ts";
import { loadPrompts } from "./prompts.ts";
import { type ConfigLogger, loadRoutingFile, watchRoutingFile } from "./routing.ts";
import { loadScoringFile } from "./scoring.ts";
import { type ConfigProblem, formatProblems } from "./validation.ts";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: Array<{ file: string; errors: ConfigProblem[] }>) {
    super(`invalid configuration:\n${problems.map((p) => formatProblems(p.file, p.errors)).join("\n")}`);
  }
}

export interface RevOpsConfig {
  routing: () => RoutingConfig;
  scoring: () => ScoringConfig;
  prompts: () => Prompts;
  close(): void;
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
export function loadRevOpsConfig(env: Env, options: { logger: ConfigLogger; watch?: boolean }): RevOpsConfig {
  const problems = checkRevOpsFiles(env);
  if (problems.length > 0) throw new ConfigError(problems);
  const scoring = loadScoringFile(env.SCORING_FILE);
  const prompts = loadPrompts(env.PROMPTS_DIR);
  if (!scoring.ok || !prompts.ok) throw new ConfigError(problems);
  if (options.watch) {
    const watcher = watchRoutingFile(env.ROUTING_FILE, { logger: options.logger });
    return {
      routing: () => watcher.current(),
      scoring: () => scoring.config,
      prompts: () => prompts.config,
      close: () => watcher.close(),
    };
  }
  const routing = loadRoutingFile(env.ROUTING_FILE);
  if (!routing.ok) throw new ConfigError(problems);
  return {
    routing: () => routing.config,
    scoring: () => scoring.config,
    prompts: () => prompts.config,
    close: () => {},
  };
}
