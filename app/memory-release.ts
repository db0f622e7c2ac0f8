/**
 * Hands memory back to the system once the process has had nothing to do for a moment (issue 12: idle
 * memory). Start-up and every busy spell grow V8's young generation to its cap (16 MB semi-spaces: some 32 MB
 * resident, empty once idle) and leave freed old-space pages pooled; V8 returns them only in a
 * memory-reducing GC. Its own memory reducer would start one when the process idles, but in Node it never
 * does: it judges the allocation rate by the last GC's figures, long past and high, and keeps waiting. So:
 * when the event loop has been quiet (busy under `maxUtilization` of the time) for `quietMs` after being busy
 * (start-up counts), one memory-reducing GC, the same one the inspector's HeapProfiler.collectGarbage runs
 * (DevTools' "collect garbage"), through an in-process session that opens no port. It holds the loop for one
 * full GC or a few (tens of ms on an idle core, a few hundred on a loaded one), only when the process was
 * idle anyway, and once per quiet spell: the next release waits for the next busy spell. What a busy process
 * holds is unchanged; bench/memory.ts reads RSS both busy and at rest.
 */
import { Session } from "node:inspector/promises";
import { type EventLoopUtilization, performance } from "node:perf_hooks";
import type { Logger } from "../tools/ports.ts";

/** A memory-reducing full GC (V8's LowMemoryNotification, which the inspector's command runs). */
export async function collectAllGarbage(): Promise<void> {
  const session = new Session();
  session.connect();
  try {
    await session.post("HeapProfiler.collectGarbage");
  } finally {
    session.disconnect();
  }
}

export interface MemoryReleaseOptions {
  logger: Logger;
  /** How long the loop must stay quiet before memory is released. Default 2 s. */
  quietMs?: number;
  /** How often the loop's utilisation is read. Default 1 s. */
  checkMs?: number;
  /** Utilisation (0-1) at or under which a check counts as quiet. Default 0.05. */
  maxUtilization?: number;
  /** What releases memory (tests count calls). Default `collectAllGarbage`. */
  release?: () => Promise<void>;
}

export interface MemoryRelease {
  /** Releases so far. */
  readonly count: number;
  stop(): void;
}

export function startMemoryRelease(options: MemoryReleaseOptions): MemoryRelease {
  const { logger } = options;
  const checkMs = options.checkMs ?? 1000;
  const quietChecks = Math.max(1, Math.ceil((options.quietMs ?? 2000) / checkMs));
  const maxUtilization = options.maxUtilization ?? 0.05;
  const release = options.release ?? collectAllGarbage;
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  let quiet = 0;
  // Start-up was the first busy spell.
  let busySinceRelease = true;
  let releasing = false;
  let count = 0;
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const { utilization } = performance.eventLoopUtilization(now, last);
    last = now;
    if (releasing) return;
    if (utilization > maxUtilization) {
      quiet = 0;
      busySinceRelease = true;
      return;
    }
    quiet++;
    if (quiet < quietChecks || !busySinceRelease) return;
    busySinceRelease = false;
    releasing = true;
    const before = process.memoryUsage.rss();
    const started = performance.now();
    release()
      .then(
        () => {
          count++;
          logger.debug(
            {
              rssBeforeMb: Math.round(before / 1e6),
              rssAfterMb: Math.round(process.memoryUsage.rss() / 1e6),
              ms: Math.round(performance.now() - started),
            },
            "memory released while idle",
          );
        },
        (err: unknown) =>
          logger.warn({ err: err instanceof Error ? err.message : String(err) }, "memory release failed"),
      )
      .finally(() => {
        releasing = false;
        // The GC's own time on the loop is not a busy spell.
        last = performance.eventLoopUtilization();
      });
  }, checkMs);
  timer.unref();
  return {
    get count() {
      return count;
    },
    stop() {
      clearInterval(timer);
    },
  };
}
