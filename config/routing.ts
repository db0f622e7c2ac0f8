import { hash } from "node:crypto";
import { type FSWatcher, readFileSync, watch } from "node:fs";
import { basename, dirname } from "node:path";
import { type RoutingConfig, routingConfigSchema } from "../domain/routing/schema.ts";
import { type ConfigProblem, type Parsed, readJsonFile, zodProblems } from "./validation.ts";

export type { RoutingConfig } from "../domain/routing/schema.ts";
export type RoutingParseResult = Parsed<RoutingConfig>;

type Json = Record<string, unknown>;
const asRecord = (v: unknown): Json | undefined =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/**
 * Uniqueness and references, checked on the raw JSON so that one run reports them alongside the
 * schema's own problems instead of only after those are fixed.
 */
function referenceProblems(input: unknown): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const root = asRecord(input);
  if (!root) return problems;
  const uniqueIds = (key: string, field: string, what: string): Set<string> => {
    const seen = new Map<string, number>();
    asList(root[key]).forEach((item, i) => {
      const value = asRecord(item)?.[field];
      if (typeof value !== "string") return;
      const first = seen.get(value);
      if (first === undefined) seen.set(value, i);
      else
        problems.push({
          path: `$.${key}[${i}].${field}`,
          message: `duplicate ${what} "${value}" (also $.${key}[${first}])`,
        });
    });
    return new Set(seen.keys());
  };
  const owners = uniqueIds("owners", "id", "owner id");
  const pools = uniqueIds("pools", "id", "pool id");
  const queues = uniqueIds("queues", "id", "queue id");
  uniqueIds("rules", "name", "rule name");

  const refer = (path: string, value: unknown, known: Set<string>, what: string) => {
    if (typeof value === "string" && !known.has(value))
      problems.push({ path, message: `unknown ${what} "${value}"` });
  };
  asList(root.pools).forEach((pool, p) => {
    const members = new Set<string>();
    asList(asRecord(pool)?.members).forEach((member, m) => {
      const owner = asRecord(member)?.owner;
      const path = `$.pools[${p}].members[${m}].owner`;
      refer(path, owner, owners, "owner");
      if (typeof owner !== "string") return;
      if (members.has(owner))
        problems.push({ path, message: `owner "${owner}" is listed twice in this pool` });
      members.add(owner);
    });
  });
  const checkAssignment = (base: string, assignment: unknown) => {
    const a = asRecord(assignment);
    if (!a) return;
    if (a.type === "owner") refer(`${base}.owner`, a.owner, owners, "owner");
    if (a.type === "pool") refer(`${base}.pool`, a.pool, pools, "pool");
    if (a.type === "queue") refer(`${base}.queue`, a.queue, queues, "queue");
  };
  asList(root.rules).forEach((rule, r) => {
    checkAssignment(`$.rules[${r}].assign`, asRecord(rule)?.assign);
  });
  checkAssignment("$.fallback", root.fallback);
  problems.push(...slaProblems(root, owners, queues));
  return problems;
}

/**
 * An SLA's escalation target must exist, and an SLA must be able to act: nobody waits on a nurture queue,
 * and a review queue escalates or reminds (there is no pool to reassign within).
 */
function slaProblems(root: Json, owners: Set<string>, queues: Set<string>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const check = (key: "rules" | "pools" | "queues") =>
    asList(root[key]).forEach((item, i) => {
      const sla = asRecord(asRecord(item)?.sla);
      if (!sla) return;
      const base = `$.${key}[${i}].sla`;
      const target = sla.escalateTo;
      if (typeof target === "string" && !owners.has(target) && !queues.has(target))
        problems.push({ path: `${base}.escalateTo`, message: `unknown owner or queue "${target}"` });
      if (key !== "queues") return;
      const path = asRecord(item)?.path;
      if (path === "nurture")
        problems.push({ path: base, message: "a nurture queue waits for nobody: an sla has no effect here" });
      else if (sla.onBreach === undefined || sla.onBreach === "reassign")
        problems.push({
          path: `${base}.onBreach`,
          message: 'a review queue\'s SLA can "escalate" or "notify"; "reassign" needs a pool or an owner',
        });
    });
  check("rules");
  check("pools");
  check("queues");
  return problems;
}

/** Validates parsed JSON; country aliases come out normalised to alpha-2. */
export function parseRoutingConfig(json: unknown): RoutingParseResult {
  const parsed = routingConfigSchema.safeParse(json);
  const problems = [...(parsed.success ? [] : zodProblems(parsed.error)), ...referenceProblems(json)];
  if (problems.length > 0 || !parsed.success) return { ok: false, errors: problems };
  return { ok: true, config: parsed.data };
}

/** Reads and validates a routing file; a missing file or bad JSON is a problem at `$`, not a throw. */
export function loadRoutingFile(file: string): RoutingParseResult {
  const json = readJsonFile(file);
  return json.ok ? parseRoutingConfig(json.value) : json;
}

export class RoutingConfigError extends Error {
  override readonly name = "RoutingConfigError";
  readonly code = "ROUTING_CONFIG_INVALID";
  readonly file: string;
  readonly problems: ConfigProblem[];
  constructor(file: string, problems: ConfigProblem[]) {
    super(`${file} is invalid:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join("\n")}`);
    this.file = file;
    this.problems = problems;
  }
}

/** What the watcher logs through: the two pino methods it uses (config/ depends on no port). */
export interface ConfigLogger {
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
}

/** Which version of a RevOps file is in force: the hash of its text and when it was loaded. */
export interface ConfigVersion {
  file: string;
  /** First 12 hex digits of the SHA-256 of the file's text. */
  hash: string;
  /** ISO timestamp. */
  loadedAt: string;
  /** The file's text, so history can show what changed. */
  text: string;
}

export function configVersion(file: string, text: string, at: Date = new Date()): ConfigVersion {
  return { file, hash: hash("sha256", text, "hex").slice(0, 12), loadedAt: at.toISOString(), text };
}

export interface RoutingWatcher {
  /** The last valid config; the one in force. */
  current(): RoutingConfig;
  /** The version of the config in force. */
  version(): ConfigVersion;
  close(): void;
}

export interface WatchRoutingOptions {
  logger: ConfigLogger;
  onChange?: (config: RoutingConfig, version: ConfigVersion) => void;
  /** Editors write in bursts (truncate, write, rename); one reload per burst. */
  debounceMs?: number;
}

/**
 * Loads `file` (throws RoutingConfigError when the initial version is invalid) and reloads it on
 * change. An invalid edit is refused: the last good config stays and every problem is logged.
 */
export function watchRoutingFile(file: string, options: WatchRoutingOptions): RoutingWatcher {
  const { logger, onChange, debounceMs = 100 } = options;
  const first = loadRoutingFile(file);
  if (!first.ok) throw new RoutingConfigError(file, first.errors);
  let config = first.config;
  let lastText = readText(file);
  let version = configVersion(file, lastText ?? "");
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const reload = () => {
    timer = undefined;
    if (closed) return;
    const text = readText(file);
    // Saves that change nothing (touch, editor swap files) are not reloads.
    if (text !== undefined && text === lastText) return;
    lastText = text;
    const result = loadRoutingFile(file);
    if (!result.ok) {
      for (const problem of result.errors)
        logger.warn(
          { file, path: problem.path, problem: problem.message },
          "routing config edit refused; last good kept",
        );
      return;
    }
    config = result.config;
    version = configVersion(file, text ?? "");
    logger.info(
      { file, rules: config.rules.length, owners: config.owners.length, version: version.hash },
      "routing config reloaded",
    );
    onChange?.(config, version);
  };

  // The directory, not the file: editors that save by rename replace the inode a file watch is bound to.
  const name = basename(file);
  const watcher: FSWatcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
    if (changed !== null && changed !== name) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(reload, debounceMs);
  });
  watcher.on("error", (err) => logger.warn({ file, error: err.message }, "routing config watch failed"));

  return {
    current: () => config,
    version: () => version,
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      watcher.close();
    },
  };
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}
