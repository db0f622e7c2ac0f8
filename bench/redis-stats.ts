/**
 * What the benches read from a private redis-server: INFO commandstats (which counts the commands clients
 * send and those run inside Lua scripts), used_memory, MEMORY USAGE per kind of key, and a MONITOR tally
 * that puts each command down to the component owning its key and to its kind of key.
 */
import { createConnection } from "node:net";
import type { Redis } from "ioredis";

export async function commandStats(redis: Redis): Promise<Map<string, number>> {
  const text = await redis.info("commandstats");
  const stats = new Map<string, number>();
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) stats.set(match[1]!, Number(match[2]));
  return stats;
}

export async function usedMemory(redis: Redis): Promise<number> {
  const text = await redis.info("memory");
  return Number(/^used_memory:(\d+)/m.exec(text)?.[1]);
}

/** Calls per command between two commandstats readings, less the reader's own (`own`), largest first. */
export function statsDelta(
  after: Map<string, number>,
  before: Map<string, number>,
  own: Record<string, number>,
): Array<readonly [string, number]> {
  return [...after]
    .map(([cmd, calls]) => [cmd, calls - (before.get(cmd) ?? 0) - (own[cmd] ?? 0)] as const)
    .filter(([, calls]) => calls > 0)
    .sort((a, b) => b[1] - a[1]);
}

export type Component =
  | "checkpointer"
  | "records"
  | "idempotency"
  | "ledger"
  | "counters"
  | "queue"
  | "other";

/** The component owning a key, by the runtime's default prefixes. */
export function componentOf(key: string): Component {
  if (key.startsWith("lg:cp:")) return "checkpointer";
  if (key.startsWith("lg:bull:")) return "queue";
  // "lg:ledger-lock:" too: the claims of the ledger before its claim and result shared one key.
  if (key.startsWith("lg:ledger")) return "ledger";
  if (key.startsWith("lg:counter:")) return "counters";
  if (key.startsWith("lg:idem:")) return "idempotency";
  if (key.startsWith("lg:")) return "records";
  return "other";
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** A key with its ids, hashes and search terms replaced, so keys of one kind group together. */
export function keyKind(key: string): string {
  return key
    .replace(UUID, "<id>")
    .replace(/:[0-9a-f]{64}$/, ":<hash>")
    .replace(/^(lg:ix:[a-z]+):.*$/, "$1:<term>")
    .replace(/^(lg:counter:[^:]+):.*$/, "$1:*")
    .replace(/^lg:ledger:<id>:.*$/, "lg:ledger:<id>:<effect>")
    .replace(/^(lg:bull:[^:]+):\d+$/, "$1:<n>")
    .replace(/^(lg:rate-limit:[^:]+):.*$/, "$1:<address>");
}

/** MONITOR's view of one phase: commands by component and by (issuer, command, kind of key). */
export class CommandTally {
  readonly byComponent = new Map<Component, number>();
  /** "client EVALSHA lg:lead:<id>" or "lua ZADD lg:ix:d:<term>" → calls. */
  readonly byCommand = new Map<string, number>();
  lua = 0;
  readonly #lastOf = new Map<string, Component>();
  readonly #openMulti = new Set<string>();
  #script: Component = "other";

  add(args: string[], source: string): void {
    const command = String(args[0]).toLowerCase();
    if (source === "lua") {
      this.lua += 1;
      const key = args[1];
      this.#count(key?.startsWith("lg:") ? componentOf(key) : this.#script);
      this.#countCommand("lua", command, key);
      return;
    }
    let key: string | undefined;
    if (command === "eval" || command === "evalsha") key = Number(args[2]) > 0 ? args[3] : undefined;
    else if (command !== "multi" && command !== "exec") key = args[1];
    this.#countCommand("client", command, key);
    const component = key?.startsWith("lg:") ? componentOf(key) : this.#lastOf.get(source);
    if (command === "multi") {
      this.#openMulti.add(source);
      return;
    }
    const owner = component ?? "other";
    if (this.#openMulti.delete(source)) this.#count(owner);
    if (command === "eval" || command === "evalsha") this.#script = owner;
    this.#lastOf.set(source, owner);
    this.#count(owner);
  }

  #count(component: Component): void {
    this.byComponent.set(component, (this.byComponent.get(component) ?? 0) + 1);
  }

  #countCommand(issuer: string, command: string, key: string | undefined): void {
    const kind = key === undefined || command === "multi" || command === "exec" ? "" : ` ${keyKind(key)}`;
    const name = `${issuer} ${command.toUpperCase()}${kind}`;
    this.byCommand.set(name, (this.byCommand.get(name) ?? 0) + 1);
  }

  total(): number {
    return [...this.byComponent.values()].reduce((sum, n) => sum + n, 0);
  }
}

/**
 * A MONITOR line's fields: `+<time> [<db> <source>] "<command>" "<arg>" ...`, quoted with backslash
 * escapes. Only the first few arguments are needed, so the rest are left unparsed.
 */
export function parseMonitorLine(line: string): { db: number; source: string; args: string[] } | undefined {
  const match = /^\+\d+\.\d+ \[(\d+) ([^\]]+)\] /.exec(line);
  if (!match) return undefined;
  const args: string[] = [];
  let at = match[0].length;
  while (at < line.length && args.length < 4) {
    if (line[at] !== '"') break;
    let arg = "";
    at += 1;
    while (at < line.length && line[at] !== '"') {
      if (line[at] === "\\") {
        const next = line[at + 1];
        if (next === "x") {
          arg += String.fromCharCode(Number.parseInt(line.slice(at + 2, at + 4), 16));
          at += 4;
          continue;
        }
        arg += next === "n" ? "\n" : next === "r" ? "\r" : next === "t" ? "\t" : (next ?? "");
        at += 2;
        continue;
      }
      arg += line[at];
      at += 1;
    }
    args.push(arg);
    at += 2; // closing quote and the space after it
  }
  return { db: Number(match[1]), source: String(match[2]), args };
}

/**
 * Counts, by component, what Redis executes in database `db` while `work` runs, leaving out `ignorePort`'s
 * commands. A plain socket: ioredis' monitor mode throws on lines that arrive while it disconnects.
 */
export async function monitored<T>(
  port: number,
  db: number,
  ignorePort: number,
  work: () => Promise<T>,
): Promise<{ result: T; tally: CommandTally }> {
  const socket = createConnection({ host: "127.0.0.1", port });
  const tally = new CommandTally();
  let buffered = "";
  let started: () => void = () => undefined;
  const monitoring = new Promise<void>((resolve) => {
    started = resolve;
  });
  socket.setEncoding("latin1");
  socket.on("data", (chunk: string) => {
    buffered += chunk;
    let start = 0;
    for (let end = buffered.indexOf("\r\n"); end !== -1; end = buffered.indexOf("\r\n", start)) {
      const line = buffered.slice(start, end);
      start = end + 2;
      if (line === "+OK") {
        started();
        continue;
      }
      const parsed = parseMonitorLine(line);
      if (parsed && parsed.db === db && !parsed.source.endsWith(`:${ignorePort}`)) {
        tally.add(parsed.args, parsed.source);
      }
    }
    buffered = buffered.slice(start);
  });
  socket.write("MONITOR\r\n");
  await monitoring;
  try {
    const result = await work();
    // MONITOR lines trail the replies a little.
    await new Promise((resolve) => setTimeout(resolve, 200));
    return { result, tally };
  } finally {
    socket.destroy();
  }
}

/** MEMORY USAGE of every key in the connection's database, grouped by kind of key, per lead. */
export async function memoryByKey(redis: Redis, leads: number): Promise<Record<string, number>> {
  const groups = new Map<string, number>();
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "COUNT", 1000);
    cursor = next;
    const sizes = await Promise.all(keys.map((key) => redis.memory("USAGE", key, "SAMPLES", "0")));
    keys.forEach((key, i) => {
      const kind = keyKind(key);
      groups.set(kind, (groups.get(kind) ?? 0) + Number(sizes[i] ?? 0));
    });
  } while (cursor !== "0");
  return Object.fromEntries(
    [...groups]
      .sort((a, b) => b[1] - a[1])
      .filter(([, bytes]) => bytes / leads >= 1)
      .map(([kind, bytes]) => [kind, Math.round(bytes / leads)]),
  );
}
