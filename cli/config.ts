/** `leadgraph config check`: errors (exit 1) and warnings (exit 1 only with --strict) for the RevOps files. */
import type { Env } from "../config/env.ts";
import { formatWarnings, lintWarnings } from "../config/lint.ts";
import { checkRevOpsFiles } from "../config/revops.ts";
import { loadRoutingFile } from "../config/routing.ts";
import { loadScoringFile } from "../config/scoring.ts";
import { formatProblems } from "../config/validation.ts";
import type { LintWarning } from "../domain/routing/lint.ts";

export function configCheckCommand(env: Env, options: { strict: boolean; json: boolean }): number {
  const problems = checkRevOpsFiles(env);
  const routing = loadRoutingFile(env.ROUTING_FILE);
  const scoring = loadScoringFile(env.SCORING_FILE);
  // Warnings need a valid routing file; the scoring file only adds vocabulary.
  const warnings: LintWarning[] =
    routing.ok && scoring.ok ? lintWarnings(routing.config, scoring.config, env.FIXTURES_DIR) : [];
  const failed = problems.length > 0 || (options.strict && warnings.length > 0);
  if (options.json) {
    console.log(JSON.stringify({ ok: !failed, errors: problems, warnings }, null, 2));
    return failed ? 1 : 0;
  }
  for (const { file, errors } of problems) console.error(formatProblems(file, errors));
  if (warnings.length > 0) console.error(formatWarnings(env.ROUTING_FILE, warnings));
  const files = `${env.ROUTING_FILE}, ${env.SCORING_FILE}, ${env.PROMPTS_DIR}`;
  const errorCount = problems.reduce((n, p) => n + p.errors.length, 0);
  if (errorCount > 0) console.error(`${errorCount} error(s), ${warnings.length} warning(s): ${files}`);
  else if (warnings.length > 0)
    console.error(
      `valid, with ${warnings.length} warning(s)${options.strict ? " (--strict: failing)" : ""}: ${files}`,
    );
  else console.log(`ok: ${files}`);
  return failed ? 1 : 0;
}
