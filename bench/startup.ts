/**
 * Service start-up: time from spawning the process to the first `GET /health` that answers 200, the CPU time
 * the process used until then (user + system; steadier than wall time on a shared, loaded machine), and the
 * process's resident memory once it has sat idle for a moment after that. Embedded profile, no environment
 * but a fresh DATA_DIR per run, a free loopback port and LOG_LEVEL=warn. Each run is a new process; runs are
 * sequential, after one warm-up run that is not counted (it fills the OS file cache).
 *
 * How the service is started (`--mode`):
 *   strip  node server.ts                  Node's own type stripping (what `npm start` runs)
 *   dist   node dist/server.js             the compiled package (`npm run build` first)
 *   tsx    node --import tsx server.ts     a runtime TypeScript loader (needs tsx installed in --cwd)
 *
 * Usage: node bench/startup.ts [--mode strip] [--runs 10] [--idle-ms 2000] [--cwd DIR]
 * `--cwd` runs the service of another checkout (for a before/after comparison on the same machine).
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { freePort } from "../test/helpers/redis-server.ts";
import { healthy, stopChild } from "./http.ts";

const { values } = parseArgs({
  options: {
    mode: { type: "string", default: "strip" },
    runs: { type: "string", default: "10" },
    "idle-ms": { type: "string", default: "2000" },
    cwd: { type: "string", default: "." },
  },
});

const MODES: Record<string, string[]> = {
  strip: ["server.ts"],
  dist: ["dist/server.js"],
  tsx: ["--import", "tsx", "server.ts"],
};

/** Resident set size of a live process, from /proc (Linux). */
function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"));
  return Number(line?.match(/\d+/)?.[0] ?? Number.NaN) / 1024;
}

const TICKS_PER_SECOND = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** CPU time (user + system) a live process has used so far, from /proc (Linux). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND) * 1000;
}

interface Run {
  ms: number;
  cpu: number;
  rss: number;
}

async function once(args: string[], cwd: string, idleMs: number): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), "leadgraph-bench-startup-"));
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  try {
    const url = `http://127.0.0.1:${port}/health`;
    while (!(await healthy(url))) {
      if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode}`);
      if (performance.now() - started > 60_000) throw new Error("no healthy answer within 60 s");
      await sleep(5);
    }
    const ms = performance.now() - started;
    const cpu = cpuMs(child.pid!);
    await sleep(idleMs);
    return { ms, cpu, rss: rssMiB(child.pid!) };
  } finally {
    await stopChild(child, 10_000);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const stats = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
};

async function main(): Promise<void> {
  const args = MODES[values.mode];
  if (!args) throw new Error(`--mode takes one of ${Object.keys(MODES).join(", ")}`);
  const runs = Math.max(1, Math.trunc(Number(values.runs)));
  const idleMs = Number(values["idle-ms"]);
  const cwd = resolve(values.cwd);
  const load = loadavg()[0]!.toFixed(2);
  await once(args, cwd, 0);
  const results: Run[] = [];
  for (let i = 0; i < runs; i++) results.push(await once(args, cwd, idleMs));
  const figures = (pick: (r: Run) => number) => {
    const { median, min, max } = stats(results.map(pick));
    return { median: Math.round(median), min: Math.round(min), max: Math.round(max) };
  };
  console.log(
    JSON.stringify({
      mode: values.mode,
      command: `node ${args.join(" ")}`,
      cwd,
      node: process.version,
      runs,
      startupMs: figures((r) => r.ms),
      startupCpuMs: figures((r) => r.cpu),
      idleRssMiB: figures((r) => r.rss),
      load: { before: Number(load), after: Number(loadavg()[0]!.toFixed(2)) },
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
