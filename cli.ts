import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type CaseOutcome, openOffline, toCases } from "./app/offline.ts";
import { type Env, loadEnv } from "./config/env.ts";
import { checkRevOpsFiles } from "./config/revops.ts";
import { formatProblems } from "./config/validation.ts";
import { routeLabel } from "./domain/labels.ts";
import type { Route } from "./domain/types.ts";

const USAGE = `leadgraph <command>

  run <file|->                 process leads (a JSON array, {leads:[...]}, or labelled cases) through the graph
      [--json] [--live]        machine-readable output; --live: the configured vendors
  route <lead.json>            the owner a lead would get and the full explanation (no counter moves)
      [--json] [--live]
  routing test                 run labelled cases and print owner and tier accuracy and every miss
      [--cases FILE] [--config FILE] [--min-accuracy 0.98] [--json] [--live]
  config check                 validate routing.json, scoring.json and the prompts
  worker                       run queue workers (Redis profile)
  accounts index <file>        embed and upsert past accounts into the vector index

run, route and routing test use the embedded adapters (local CRM, outbox, no LLM) even when vendor
credentials are set; --live uses the configured vendors.

Files default to config/ and prompts/; ROUTING_FILE, SCORING_FILE and PROMPTS_DIR override them.`;

function readJson(path: string): unknown {
  return JSON.parse(path === "-" ? readFileSync(0, "utf8") : readFileSync(path, "utf8"));
}

/** The person (or queue) a lead went to, with the pool that picked them. */
function assignee(route: Route | undefined): string {
  if (!route) return "none";
  if (route.ownerId) return route.pool ? `${route.ownerId} (pool:${route.pool})` : route.ownerId;
  return routeLabel(route);
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function countBy<T>(items: T[], key: (t: T) => string): string {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
}

async function runCommand(env: Env, file: string, json: boolean, live: boolean): Promise<number> {
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

async function routeCommand(env: Env, file: string, json: boolean, live: boolean): Promise<number> {
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

async function routingTestCommand(
  env: Env,
  casesFile: string,
  minAccuracy: number,
  json: boolean,
  live: boolean,
): Promise<number> {
  const runtime = await openOffline(env, { live });
  try {
    const report = await runtime.evaluate(toCases(readJson(casesFile)));
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

function configCheckCommand(env: Env): number {
  const problems = checkRevOpsFiles(env);
  if (problems.length === 0) {
    console.log(`ok: ${env.ROUTING_FILE}, ${env.SCORING_FILE}, ${env.PROMPTS_DIR}`);
    return 0;
  }
  for (const { file, errors } of problems) console.error(formatProblems(file, errors));
  return 1;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: "boolean", default: false },
      live: { type: "boolean", default: false },
      cases: { type: "string" },
      config: { type: "string" },
      "min-accuracy": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [command, sub, arg] = positionals;
  if (values.help || command === undefined) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const env = loadEnv(values.config ? { ROUTING_FILE: values.config } : {});
  if (command === "run" && sub) return runCommand(env, sub, values.json, values.live);
  if (command === "route" && sub) return routeCommand(env, sub, values.json, values.live);
  if (command === "routing" && sub === "test") {
    const min = values["min-accuracy"] === undefined ? 0 : Number(values["min-accuracy"]);
    if (!Number.isFinite(min) || min < 0 || min > 1)
      throw new Error("--min-accuracy takes a number from 0 to 1");
    return routingTestCommand(
      env,
      values.cases ?? `${env.FIXTURES_DIR}/leads_sample.json`,
      min,
      values.json,
      values.live,
    );
  }
  if (command === "config" && sub === "check") return configCheckCommand(env);
  if (command === "worker") {
    const { runWorkers } = await import("./server.ts");
    return runWorkers(env);
  }
  if (command === "accounts" && sub === "index" && arg) {
    const { indexAccountsCommand } = await import("./app/adapters.ts");
    return indexAccountsCommand(env, arg);
  }
  console.error(`unknown or incomplete command: ${positionals.join(" ")}\n\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);
