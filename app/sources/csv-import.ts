/**
 * List imports (event badge scans, purchased lists): a CSV file whose header names columns as people name
 * them, mapped by the same field map as web forms (domain/normalize/payload.ts). A dry run reports every
 * row's problem and stores nothing; an import accepts each row like a webhook lead (same idempotency keys,
 * so a file imported twice makes no new lead) on the queue's bulk lane, which live leads always get ahead of.
 *
 * Parsing is csv-parse's: a UTF-8 BOM is dropped, quoted fields may hold the delimiter, quotes and line
 * breaks, a row shorter than the header leaves the missing columns empty, and a row it cannot read is
 * reported and skipped. The delimiter (`,`, `;` or tab) is the one the header line uses most.
 */
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { parse } from "csv-parse/sync";
import { fieldOfColumn } from "../../domain/normalize/payload.ts";
import { idempotencyKeyOf } from "../idempotency.ts";
import { checkIntake } from "../intake.ts";
import { checkPayloadLimits } from "../payload-limits.ts";
import { type Accept, type ItemResult, itemResult } from "./batch.ts";
import type { Delivery } from "./delivery.ts";

export interface ImportOptions {
  /** Check every row and report; store nothing. */
  dryRun?: boolean;
  /** The lead channel (`source` field) of rows that name none, e.g. "event". */
  channel?: string;
  /** Rows accepted at once. Default 4. */
  concurrency?: number;
  /** Called as rows are done (checked or accepted). */
  onProgress?: (done: number, total: number) => void;
}

export interface ImportProblem {
  /** 1-based data row (the header is row 0; -1 for a row csv-parse could not read: see `line`). */
  row: number;
  /** Line in the file where the row starts. */
  line: number;
  field: string;
  message: string;
}

export type RowResult = { row: number } & ItemResult;

export interface ImportReport {
  dryRun: boolean;
  delimiter: string;
  /** Each header column and the lead field it feeds; columns that feed none are kept but not read. */
  columns: Array<{ name: string; field?: string }>;
  rows: number;
  /** New leads (or, in a dry run, rows that would be leads). */
  accepted: number;
  /** Rows that are a lead already accepted (in a dry run: an earlier row of the same file). */
  duplicates: number;
  rejected: number;
  problems: ImportProblem[];
  /** One result per row, in order (imports only). */
  results: RowResult[];
}

const DELIMITERS = [",", ";", "\t"] as const;

/** The delimiter the header line uses most, counting only outside quotes. */
export function detectDelimiter(text: string): string {
  const counts = new Map<string, number>();
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === "\n" || ch === "\r")) break;
    else if (!quoted && (DELIMITERS as readonly string[]).includes(ch))
      counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  let best = ",";
  for (const d of DELIMITERS) if ((counts.get(d) ?? 0) > (counts.get(best) ?? 0)) best = d;
  return best;
}

interface ParsedRow {
  row: number;
  line: number;
  fields: Record<string, string>;
}

/** Header and rows; rows csv-parse could not read come back as problems. */
export function parseCsv(text: string): {
  delimiter: string;
  header: string[];
  rows: ParsedRow[];
  problems: ImportProblem[];
} {
  const delimiter = detectDelimiter(text.replace(/^\uFEFF/, ""));
  const problems: ImportProblem[] = [];
  const records = parse(text, {
    bom: true,
    delimiter,
    info: true,
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    on_skip: (err) => {
      problems.push({
        row: -1,
        line: Number((err as { lines?: number } | undefined)?.lines ?? 0),
        field: "row",
        message: `row could not be read (${err?.code ?? "invalid CSV"}); skipped`,
      });
      return undefined;
    },
  }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
  const [head, ...body] = records;
  const header = (head?.record ?? []).map((h) => h.trim());
  const rows: ParsedRow[] = [];
  for (const { record, info } of body) {
    if (record.every((cell) => cell.trim() === "")) continue;
    const fields: Record<string, string> = {};
    header.forEach((name, i) => {
      const cell = record[i];
      if (name !== "" && cell !== undefined && !Object.hasOwn(fields, name)) fields[name] = cell;
    });
    rows.push({ row: rows.length + 1, line: info.lines, fields });
    if (record.length > header.length)
      problems.push({
        row: rows.length,
        line: info.lines,
        field: "row",
        message: `row has ${record.length} fields, the header ${header.length}; the extra ones are ignored`,
      });
  }
  return { delimiter, header, rows, problems };
}

function withChannel(fields: Record<string, string>, channel: string | undefined): Record<string, string> {
  if (
    channel === undefined ||
    Object.keys(fields).some((k) => fieldOfColumn(k) === "source" && fields[k]?.trim())
  )
    return fields;
  return { ...fields, lead_source: channel };
}

/** Runs `work` over the rows with a few at once, results in row order, yielding between rows. */
async function eachRow<T>(
  rows: ParsedRow[],
  concurrency: number,
  work: (row: ParsedRow) => Promise<T> | T,
  onDone: (done: number) => void,
): Promise<T[]> {
  const out: T[] = new Array(rows.length);
  let next = 0;
  let done = 0;
  const lane = async () => {
    for (let i = next++; i < rows.length; i = next++) {
      out[i] = await work(rows[i] as ParsedRow);
      done += 1;
      onDone(done);
      // Synchronous stores answer without a macrotask: give live requests their turn.
      await yieldToEventLoop();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
  return out;
}

export async function importCsv(
  accept: Accept,
  text: string,
  options: ImportOptions = {},
): Promise<ImportReport> {
  const parsed = parseCsv(text);
  const report: ImportReport = {
    dryRun: options.dryRun ?? false,
    delimiter: parsed.delimiter,
    columns: parsed.header.map((name) => {
      const field = fieldOfColumn(name);
      return field ? { name, field } : { name };
    }),
    rows: parsed.rows.length,
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    problems: parsed.problems,
    results: [],
  };
  if (!report.columns.some((c) => c.field === "email"))
    report.problems.push({ row: 0, line: 1, field: "email", message: "no column maps to email" });
  const total = parsed.rows.length;
  const progress = (done: number) => options.onProgress?.(done, total);
  const reject = (row: ParsedRow, field: string, message: string) => {
    report.rejected += 1;
    report.problems.push({ row: row.row, line: row.line, field, message });
  };

  if (report.dryRun) {
    const seen = new Map<string, number>();
    await eachRow(
      parsed.rows,
      1,
      (row) => {
        const body = withChannel(row.fields, options.channel);
        const limits = checkPayloadLimits(body);
        const intake = limits.ok ? checkIntake(body, "import") : limits;
        if (!intake.ok) return reject(row, intake.field, intake.message);
        const key = idempotencyKeyOf(undefined, body, intake.keyInputs);
        if (seen.has(key)) report.duplicates += 1;
        else {
          seen.set(key, row.row);
          report.accepted += 1;
        }
      },
      progress,
    );
  } else {
    const results = await eachRow(
      parsed.rows,
      options.concurrency ?? 4,
      async (row) => {
        const delivery: Delivery = {
          body: withChannel(row.fields, options.channel),
          source: "import",
          lane: "bulk",
        };
        const result = await accept(delivery);
        if (!result.ok) reject(row, result.field, result.message);
        else if (result.duplicate) report.duplicates += 1;
        else report.accepted += 1;
        return { row: row.row, ...itemResult(result) } as RowResult;
      },
      progress,
    );
    report.results = results;
  }
  report.problems.sort((a, b) => a.line - b.line);
  return report;
}
