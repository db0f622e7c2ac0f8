/**
 * `leadgraph routing test`: labelled cases through the dry run, owner and tier accuracy, every miss; and
 * `leadgraph routing what-if`: the stored leads replayed against a candidate config.
 */
import { silentLogger } from "../app/logger.ts";
import { openOffline, toCases } from "../app/offline.ts";
import { sinceOf } from "../app/routing-admin.ts";
import { createRuntime } from "../app/runtime.ts";
import type { Env } from "../config/env.ts";
import { formatProblems } from "../config/validation.ts";
import { readJson } from "./output.ts";

export async function routingTestCommand(
  env: Env,
  casesFile: string,
  minAccuracy: number,
  json: boolean,
  live: boolean,
): Promise<number> {
  const cases = toCases(readJson(casesFile));
  const unlabelled = cases.filter((c) => c.expectedOwner === undefined && c.expectedTier === undefined);
  if (unlabelled.length > 0) {
    const ids = unlabelled.slice(0, 10).map((c) => c.id);
    console.error(
      `${casesFile}: ${unlabelled.length} case(s) have no expectedOwner or expectedTier (${ids.join(", ")}${unlabelled.length > ids.length ? ", …" : ""}); label them or use \`leadgraph run\``,
    );
    return 2;
  }
  const runtime = await openOffline(env, { live });
  try {
    const report = await runtime.evaluate(cases);
    const pass = report.ownerAccuracy >= minAccuracy && report.tierAccuracy >= minAccuracy;
    if (json) {
      const misses = report.misses.map((m) => ({
        id: m.case.id,
        expectedOwner: m.case.expectedOwner,
        actualOwner: m.actualOwner,
        expectedAvailableFrom: m.case.expectedAvailableFrom,
        actualAvailableFrom: m.state?.route?.availableFrom,
        expectedTier: m.case.expectedTier,
        actualTier: m.actualTier,
        score: m.state?.score?.value,
        explanation: m.state?.route?.explanation,
        error: m.error,
      }));
      console.log(
        JSON.stringify(
          {
            total: report.total,
            ownerAccuracy: report.ownerAccuracy,
            tierAccuracy: report.tierAccuracy,
            misses,
          },
          null,
          2,
        ),
      );
      return pass ? 0 : 1;
    }
    for (const m of report.misses) {
      console.log(`MISS ${m.case.id}${m.case.description ? ` (${m.case.description})` : ""}`);
      if (!m.ownerOk) console.log(`  owner: expected ${m.case.expectedOwner}, got ${m.actualOwner}`);
      const from = m.state?.route?.availableFrom;
      if (m.case.expectedAvailableFrom !== undefined && m.case.expectedAvailableFrom !== from)
        console.log(`  available from: expected ${m.case.expectedAvailableFrom}, got ${from ?? "now"}`);
      if (!m.tierOk) console.log(`  tier: expected ${m.case.expectedTier}, got ${m.actualTier}`);
      if (m.error) console.log(`  error: ${m.error}`);
      const score = m.state?.score;
      if (score) console.log(`  score ${score.value}: ${score.reasons.map((r) => r.text).join("; ")}`);
      for (const line of m.state?.route?.explanation ?? []) console.log(`    ${line}`);
    }
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    const ownerHits = report.results.filter((r) => r.ownerOk).length;
    const tierHits = report.results.filter((r) => r.tierOk).length;
    console.log(
      `\n${report.total} cases: owner accuracy ${pct(report.ownerAccuracy)} (${ownerHits}/${report.total}), tier accuracy ${pct(report.tierAccuracy)} (${tierHits}/${report.total}), ${report.misses.length} misses`,
    );
    if (!pass) console.log(`below --min-accuracy ${minAccuracy}`);
    return pass ? 0 : 1;
  } finally {
    await runtime.close();
  }
}

/** `leadgraph routing what-if --config candidate.json [--scoring F] [--since 7d]`: against the stored leads. */
export async function whatIfCommand(
  env: Env,
  candidate: { routing?: string; scoring?: string },
  sinceText: string,
  json: boolean,
): Promise<number> {
  const since = sinceOf(sinceText, new Date());
  if (!since) {
    console.error(`--since ${sinceText}: use 30m, 24h, 7d or an ISO date`);
    return 2;
  }
  if (!candidate.routing && !candidate.scoring) {
    console.error(
      "routing what-if needs --config <candidate routing.json> and/or --scoring <candidate scoring.json>",
    );
    return 2;
  }
  // The deployment's own store (DATA_DIR or REDIS_URL), read only: no worker runs here.
  const runtime = await createRuntime(env, { logger: silentLogger, worker: false });
  try {
    const result = await runtime.service.routing.whatIf({
      ...(candidate.routing ? { routing: readJson(candidate.routing) } : {}),
      ...(candidate.scoring ? { scoring: readJson(candidate.scoring) } : {}),
      since,
    });
    if (!result.ok) {
      const file = result.file === "routing" ? candidate.routing : candidate.scoring;
      console.error(formatProblems(file ?? result.file, result.errors));
      return 1;
    }
    if (json) {
      console.log(JSON.stringify(result, null, 2));
      return 0;
    }
    for (const change of result.changes) {
      const what = change.changed
        .map((field) =>
          field === "tier"
            ? `tier ${change.before.tier} → ${change.after.tier}`
            : `${field} ${change.before.owner} → ${change.after.owner}`,
        )
        .join(", ");
      console.log(`${change.leadId}  ${change.receivedAt}  ${what}`);
      console.log(`  now (rule "${change.before.rule}"):`);
      for (const line of change.before.explanation) console.log(`    ${line}`);
      console.log(`  candidate (rule "${change.after.rule}"):`);
      for (const line of change.after.explanation) console.log(`    ${line}`);
    }
    console.log(
      `\nsince ${result.since}: ${result.compared} leads replayed, ${result.changes.length} would change` +
        (result.skipped > 0 ? `, ${result.skipped} skipped (completed before facts were kept)` : ""),
    );
    return 0;
  } finally {
    await runtime.close();
  }
}
