/**
 * Safe routing changes for RevOps, behind LeadService: the routing.json and scoring.json in force with their
 * version hash, load time and lint warnings; the history of every version loaded, with a diff against the one
 * in force; and what-if, which replays recent real leads (their stored facts) against a candidate config and
 * lists every lead whose owner, queue or tier would change, with both explanations.
 */
import { isAbsolute, relative } from "node:path";
import { createTwoFilesPatch } from "diff";
import { lintWarnings } from "../config/lint.ts";
import type { ConfigKind, RevOpsConfig } from "../config/revops.ts";
import { parseRoutingConfig } from "../config/routing.ts";
import { parseScoringConfig } from "../config/scoring.ts";
import type { ConfigProblem } from "../config/validation.ts";
import type { LintWarning } from "../domain/routing/lint.ts";
import type { RoutingConfig } from "../domain/routing/schema.ts";
import type { ScoringConfig } from "../domain/scoring/schema.ts";
import { changesBetween, type ReplayInputs, replayDecision, type WhatIfChange } from "../domain/what-if.ts";
import type { ConfigHistory, StoredConfigVersion } from "../store/config-history.ts";
import type { LeadStore } from "../store/lead-store.ts";
import { type LeadRecord, MAX_LIST_LIMIT } from "../store/lead-store.ts";

export interface FileInForce<T> {
  /** Relative to the service's working directory when the file is below it (the console shows it). */
  file: string;
  hash: string;
  loadedAt: string;
  config: T;
}

export interface RoutingStatus {
  routing: FileInForce<RoutingConfig>;
  scoring: FileInForce<ScoringConfig>;
  /** Valid but probably wrong (config check's warnings). */
  warnings: LintWarning[];
}

export type VersionSummary = Omit<StoredConfigVersion, "text"> & { current: boolean };

export interface VersionDetail extends StoredConfigVersion {
  current: boolean;
  /** Unified diff from this version to the one in force; empty when it is the one in force. */
  diffToCurrent: string;
}

export interface WhatIfRequest {
  /** A candidate routing.json (parsed JSON); the one in force when absent. */
  routing?: unknown;
  /** A candidate scoring.json (parsed JSON); the one in force when absent. */
  scoring?: unknown;
  /** Leads received at or after this time are replayed. */
  since: Date;
}

export type WhatIfResult =
  | {
      ok: true;
      since: string;
      /** Completed leads replayed. */
      compared: number;
      /** Completed leads without stored facts (completed before facts were kept). */
      skipped: number;
      changes: WhatIfChange[];
    }
  | { ok: false; file: ConfigKind; errors: ConfigProblem[] };

export interface RoutingAdmin {
  status(): RoutingStatus;
  versions(kind: ConfigKind, limit?: number): Promise<VersionSummary[]>;
  version(kind: ConfigKind, hash: string): Promise<VersionDetail | null>;
  whatIf(request: WhatIfRequest): Promise<WhatIfResult>;
}

export interface RoutingAdminOptions {
  config: RevOpsConfig;
  history: ConfigHistory;
  store: LeadStore;
  fixturesDir: string;
}

const UNITS_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `7d`, `24h`, `90m` back from `now`, or an ISO date or timestamp; undefined when it is neither. */
export function sinceOf(text: string, now: Date): Date | undefined {
  const relative = /^(\d{1,4})([mhd])$/.exec(text.trim());
  if (relative) return new Date(now.getTime() - Number(relative[1]) * (UNITS_MS[relative[2] as string] ?? 0));
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : new Date(at);
}

function replayOf(lead: LeadRecord): ReplayInputs | undefined {
  const replay = lead.result?.replay;
  if (typeof replay !== "object" || replay === null) return undefined;
  const inputs = replay as ReplayInputs;
  return inputs.facts ? inputs : undefined;
}

/** Delivered leads (completed, or awaiting their owner) received since `since`, newest first per status. */
async function* completedSince(store: LeadStore, since: Date): AsyncGenerator<LeadRecord> {
  for (const status of ["completed", "awaiting"] as const) {
    let cursor: string | undefined;
    do {
      const page = await store.listLeads({ status, limit: MAX_LIST_LIMIT, ...(cursor ? { cursor } : {}) });
      let done = false;
      for (const lead of page.leads) {
        if (Date.parse(lead.receivedAt) < since.getTime()) {
          done = true;
          break;
        }
        yield lead;
      }
      cursor = done ? undefined : page.nextCursor;
    } while (cursor);
  }
}

export function createRoutingAdmin(options: RoutingAdminOptions): RoutingAdmin {
  const { config, history, store } = options;

  function inForce<T>(kind: ConfigKind, value: T): FileInForce<T> {
    const { file, hash, loadedAt } = config.versions()[kind];
    return { file: shownPath(file), hash, loadedAt, config: value };
  }

  return {
    status() {
      const routing = config.routing();
      const scoring = config.scoring();
      return {
        routing: inForce("routing", routing),
        scoring: inForce("scoring", scoring),
        warnings: lintWarnings(routing, scoring, options.fixturesDir),
      };
    },

    async versions(kind, limit) {
      const current = config.versions()[kind].hash;
      return (await history.list(kind, limit)).map(({ text: _text, ...version }) => ({
        ...version,
        current: version.hash === current,
      }));
    },

    async version(kind, hash) {
      const stored = await history.get(kind, hash);
      if (!stored) return null;
      const current = config.versions()[kind];
      const diffToCurrent =
        stored.hash === current.hash
          ? ""
          : createTwoFilesPatch(
              `${kind}.json@${stored.hash}`,
              `${kind}.json@${current.hash}`,
              stored.text,
              current.text,
            );
      return { ...stored, current: stored.hash === current.hash, diffToCurrent };
    },

    async whatIf(request) {
      let routing = config.routing();
      let scoring = config.scoring();
      if (request.routing !== undefined) {
        const parsed = parseRoutingConfig(request.routing);
        if (!parsed.ok) return { ok: false, file: "routing", errors: parsed.errors };
        routing = parsed.config;
      }
      if (request.scoring !== undefined) {
        const parsed = parseScoringConfig(request.scoring);
        if (!parsed.ok) return { ok: false, file: "scoring", errors: parsed.errors };
        scoring = parsed.config;
      }
      const current = { routing: config.routing(), scoring: config.scoring() };
      let compared = 0;
      let skipped = 0;
      const changes: WhatIfChange[] = [];
      for await (const lead of completedSince(store, request.since)) {
        const inputs = replayOf(lead);
        if (!inputs) {
          skipped += 1;
          continue;
        }
        compared += 1;
        const at = new Date(lead.receivedAt);
        const before = await replayDecision(inputs, current.routing, current.scoring, at);
        const after = await replayDecision(inputs, routing, scoring, at);
        const changed = changesBetween(before, after);
        if (changed.length > 0)
          changes.push({ leadId: lead.leadId, receivedAt: lead.receivedAt, changed, before, after });
      }
      return { ok: true, since: request.since.toISOString(), compared, skipped, changes };
    },
  };
}

/** A config file's path as the console shows it: relative to the working directory when below it. */
function shownPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : file;
}
