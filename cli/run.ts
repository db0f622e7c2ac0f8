/** `leadgraph run` and `leadgraph route`: the whole graph, or the dry run, on the embedded adapters unless --live. */
import { type CaseOutcome, openOffline, toCases } from "../app/offline.ts";
import type { Env } from "../config/env.ts";
import { routeLabel } from "../domain/labels.ts";
import { assignee, countBy, readJson, table } from "./output.ts";

export async function runCommand(env: Env, file: string, json: boolean, live: boolean): Promise<number> {
  const runtime = await openOffline(env, { live });
  try {
    const started = performance.now();
    const outcomes = await runtime.run(toCases(readJson(file)));
    const seconds = (performance.now() - started) / 1000;
    if (json) {
      console.log(JSON.stringify(outcomes.map(outcomeJson), null, 2));
    } else {
      const rows = [["lead", "score", "tier", "owner", "rule", "path", "warnings"]];
      for (const o of outcomes)
        rows.push(
          o.ok
            ? [
                o.case.id,
                String(o.state.score?.value ?? ""),
                o.state.score?.tier ?? "",
                assignee(o.state.route),
                o.state.route?.ruleName ?? "",
                o.state.path ?? "",
                String(o.state.warnings.length),
              ]
            : [o.case.id, "", "", "REJECTED", "", "", o.error.message],
        );
      console.log(table(rows));
      const done = outcomes.flatMap((o) => (o.ok ? [o.state] : []));
      console.log(
        `\n${outcomes.length} leads in ${seconds.toFixed(2)} s: ${done.length} processed, ${outcomes.length - done.length} rejected`,
      );
      console.log(`paths: ${countBy(done, (s) => s.path ?? "none")}`);
      console.log(`tiers: ${countBy(done, (s) => s.score?.tier ?? "none")}`);
      console.log(`owners: ${countBy(done, (s) => s.route?.ownerId ?? routeLabel(s.route))}`);
    }
    return outcomes.every((o) => o.ok) ? 0 : 1;
  } finally {
    await runtime.close();
  }
}

function outcomeJson(o: CaseOutcome) {
  if (!o.ok) return { id: o.case.id, ok: false, error: o.error.message };
  const s = o.state;
  return {
    id: o.case.id,
    ok: true,
    leadId: s.leadId,
    score: s.score?.value,
    tier: s.score?.tier,
    owner: s.route?.ownerId,
    queue: s.route?.queue,
    pool: s.route?.pool,
    rule: s.route?.ruleName,
    path: s.path,
    reasons: s.score?.reasons.map((r) => r.text),
    warnings: s.warnings.map((w) => `${w.node}/${w.code}`),
  };
}

export async function routeCommand(env: Env, file: string, json: boolean, live: boolean): Promise<number> {
  const runtime = await openOffline(env, { live });
  try {
    const state = await runtime.preview(readJson(file), { llm: live });
    if (json) {
      console.log(
        JSON.stringify(
          { route: state.route, path: state.path, score: state.score, warnings: state.warnings },
          null,
          2,
        ),
      );
      return 0;
    }
    console.log(`owner: ${routeLabel(state.route)}  rule: ${state.route?.ruleName}  path: ${state.path}`);
    console.log(`score: ${state.score?.value} (${state.score?.tier}), rule score ${state.score?.ruleScore}`);
    for (const r of state.score?.reasons ?? []) console.log(`  ${r.text}  [${r.field} = ${String(r.value)}]`);
    console.log("why:");
    for (const line of state.route?.explanation ?? []) console.log(`  ${line}`);
    for (const w of state.warnings) console.log(`warning: ${w.node}/${w.code}: ${w.message}`);
    return 0;
  } finally {
    await runtime.close();
  }
}
