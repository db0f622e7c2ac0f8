import { parseArgs } from "node:util";
import { configCheckCommand } from "./cli/config.ts";
import { routingTestCommand, whatIfCommand } from "./cli/routing.ts";
import { routeCommand, runCommand } from "./cli/run.ts";
import { loadEnv } from "./config/env.ts";

const USAGE = `leadgraph <command>

  run <file|->                 process leads (a JSON array, {leads:[...]}, or labelled cases) through the graph
      [--json] [--live]        machine-readable output; --live: the configured vendors
  route <lead.json>            the owner a lead would get and the full explanation (no counter moves)
      [--json] [--live]
  routing test                 run labelled cases and print owner and tier accuracy and every miss; fails on
      [--cases FILE]           any miss (or below --min-accuracy) and on cases without a label
      [--routing FILE] [--min-accuracy 0.98] [--json] [--live]
  routing what-if              replay the stored leads received since --since against a candidate config and
      --config FILE            list every lead whose owner, queue or tier would change, with both explanations
      [--scoring FILE] [--since 7d] [--json]
  config check                 validate routing.json, scoring.json and the prompts, and warn about rules that
      [--routing FILE]         can never match, copies, catch-alls before the end, state names and unknown
      [--scoring FILE]         codes, pools with nobody active, impossible postal prefixes, unknown industries
      [--prompts DIR]          and sources (with the likely typo)
      [--strict] [--json]      --strict: warnings fail too
  worker                       run queue workers in their own process (Redis profile: needs REDIS_URL)
  import <leads.csv>           import a list: each row a lead on the queue's import lane (same store as the service)
      [--dry-run] [--source CHANNEL] [--json]   dry run: report every row's problem, store nothing
  accounts index <file>        embed and upsert past accounts into the vector index
  lead <action> <leadId>       act on a lead waiting for its owner (accept, reassign, decline) or a reviewer
      [--by NAME] [--reason R] (approve, route, nurture); the service's workers apply it. decline --reason:
      [--to OWNER] [--json]    wrong_territory, not_a_buyer, spam, existing_customer; reassign/route --to

run, route and routing test use the embedded adapters (local CRM, outbox, no LLM) even when vendor
credentials are set; --live uses the configured vendors.

Files default to config/ and prompts/; ROUTING_FILE, SCORING_FILE and PROMPTS_DIR override them, and so do
--routing (or --config), --scoring and --prompts.`;

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
      routing: { type: "string" },
      scoring: { type: "string" },
      prompts: { type: "string" },
      strict: { type: "boolean", default: false },
      since: { type: "string" },
      "dry-run": { type: "boolean", default: false },
      source: { type: "string" },
      by: { type: "string" },
      reason: { type: "string" },
      to: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [command, sub, arg] = positionals;
  if (values.help || command === undefined) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const whatIf = command === "routing" && sub === "what-if";
  // For what-if, --config is the candidate: the deployment's own files stay in force.
  const routingFile = values.routing ?? (whatIf ? undefined : values.config);
  const env = loadEnv({
    ...(routingFile ? { ROUTING_FILE: routingFile } : {}),
    ...(values.scoring && !whatIf ? { SCORING_FILE: values.scoring } : {}),
    ...(values.prompts ? { PROMPTS_DIR: values.prompts } : {}),
  });
  if (command === "run" && sub) return runCommand(env, sub, values.json, values.live);
  if (command === "route" && sub) return routeCommand(env, sub, values.json, values.live);
  if (command === "routing" && sub === "test") {
    // Any miss fails unless the caller says how many may.
    const min = values["min-accuracy"] === undefined ? 1 : Number(values["min-accuracy"]);
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
  if (whatIf)
    return whatIfCommand(
      env,
      {
        ...(values.config ? { routing: values.config } : {}),
        ...(values.scoring ? { scoring: values.scoring } : {}),
      },
      values.since ?? "7d",
      values.json,
    );
  if (command === "config" && sub === "check")
    return configCheckCommand(env, { strict: values.strict, json: values.json });
  if (command === "worker") {
    if (!env.REDIS_URL) {
      // An embedded worker in a second process would compete with the service's own worker for the same
      // SQLite file: refused rather than run quietly.
      console.error(
        "leadgraph worker needs REDIS_URL: it runs queue workers for the Redis profile. Without Redis, " +
          "`npm start` already runs the worker inside the service (on DATA_DIR).",
      );
      return 2;
    }
    const { runWorkers } = await import("./server.ts");
    return runWorkers(env);
  }
  if (command === "import" && sub) {
    const { importCommand } = await import("./app/import-command.ts");
    return importCommand(env, sub, {
      dryRun: values["dry-run"],
      json: values.json,
      ...(values.source ? { channel: values.source } : {}),
    });
  }
  if (command === "lead" && sub && arg) {
    const { leadActionCommand } = await import("./cli/lead.ts");
    return leadActionCommand(env, sub, arg, {
      json: values.json,
      ...(values.by ? { by: values.by } : {}),
      ...(values.reason ? { reason: values.reason } : {}),
      ...(values.to ? { to: values.to } : {}),
    });
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
