/** `leadgraph routing test`: labelled cases through the dry run, owner and tier accuracy, every miss. */
import { openOffline, toCases } from "../app/offline.ts";
import type { Env } from "../config/env.ts";
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
