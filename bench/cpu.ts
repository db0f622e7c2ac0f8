import { readFileSync } from "node:fs";

/**
 * CPU seconds a process has used, all its threads (user + system), from /proc/<pid>/stat in clock ticks
 * (100 a second). Linux only, as the benches that read it say.
 */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th of the line.
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
