/**
 * `leadgraph import <file.csv> [--dry-run] [--source <channel>]`: a list import from the terminal, into the
 * same store and queue the service uses (DATA_DIR or REDIS_URL). Rows wait on the queue's bulk lane for the
 * running service's workers (or `leadgraph worker`); a dry run opens nothing but the file. Progress goes to
 * stderr when it is a terminal; the report to stdout (`--json` for the whole report).
 */
import { readFileSync } from "node:fs";
import type { Env } from "../config/env.ts";
import { createLogger } from "./logger.ts";
import { createRuntime } from "./runtime.ts";
import type { ImportReport } from "./sources/csv-import.ts";
import { importCsv } from "./sources/csv-import.ts";

const BAR_WIDTH = 30;

/** A one-line progress bar redrawn in place, at most every 100 ms; nothing when stderr is not a terminal. */
export function progressBar(stream: NodeJS.WriteStream = process.stderr) {
  const started = Date.now();
  let drawn = 0;
  const draw = (done: number, total: number, final = false) => {
    if (!stream.isTTY) return;
    const now = Date.now();
    if (!final && now - drawn < 100) return;
    drawn = now;
    const share = total === 0 ? 1 : done / total;
    const filled = Math.round(share * BAR_WIDTH);
    const rate = done / Math.max(0.001, (now - started) / 1000);
    stream.write(
      `\r[${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}] ${done.toLocaleString("en")}/${total.toLocaleString("en")} ` +
        `${Math.round(share * 100)}%  ${Math.round(rate).toLocaleString("en")} rows/s${final ? "\n" : ""}`,
    );
  };
  return {
    update: (done: number, total: number) => draw(done, total),
    finish: (done: number, total: number) => draw(done, total, true),
  };
}

function printReport(report: ImportReport, file: string): void {
  const verb = report.dryRun ? "would import" : "imported";
  const mapped = report.columns.map((c) => (c.field ? `${c.name} → ${c.field}` : `${c.name} (not read)`));
  console.log(`${file}: ${report.rows} rows, delimiter ${JSON.stringify(report.delimiter)}`);
  console.log(`columns: ${mapped.join(", ")}`);
  for (const p of report.problems)
    console.log(
      `  ${p.row > 0 ? `row ${p.row} (line ${p.line})` : `line ${p.line}`}: ${p.field}: ${p.message}`,
    );
  console.log(
    `${verb} ${report.accepted} new leads, ${report.duplicates} duplicates, ${report.rejected} rows rejected` +
      (report.dryRun
        ? " (dry run: nothing stored)"
        : "; they run on the import lane of the service's workers"),
  );
}

export async function importCommand(
  env: Env,
  file: string,
  options: { dryRun: boolean; json: boolean; channel?: string },
): Promise<number> {
  const text = readFileSync(file, "utf8");
  const started = performance.now();
  const bar = progressBar();
  let total = 0;
  let done = 0;
  const importOptions = {
    dryRun: options.dryRun,
    ...(options.channel ? { channel: options.channel } : {}),
    onProgress: (d: number, t: number) => {
      done = d;
      total = t;
      bar.update(d, t);
    },
  };
  let report: ImportReport;
  if (options.dryRun) {
    // A dry run checks rows only: no store, no queue.
    report = await importCsv(() => Promise.reject(new Error("dry run stores nothing")), text, importOptions);
  } else {
    const runtime = await createRuntime(env, { logger: createLogger({ level: "warn" }), worker: false });
    try {
      report = await runtime.service.importCsv(text, importOptions);
    } finally {
      await runtime.close();
    }
  }
  bar.finish(done, total);
  const seconds = Number(((performance.now() - started) / 1000).toFixed(2));
  if (options.json) console.log(JSON.stringify({ ...report, seconds }, null, 2));
  else printReport(report, file);
  return report.rejected > 0 || report.problems.some((p) => p.row === 0) ? 1 : 0;
}
