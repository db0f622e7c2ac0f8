/**
 * Live lead events across processes. Every process publishes what happens in it (intake: a lead received;
 * workers: the runner's events; admins: processing paused or resumed) to the event log (store/event-log.ts),
 * in small batches so that a busy worker writes once per batch rather than once per event; publishing never
 * waits and never fails a lead. Hosts read the log for their live views: one waiter per process watches
 * for new events and wakes every view, and each view reads on from its own position, so a reconnect with
 * `Last-Event-ID` continues exactly where it stopped.
 */
import type { LeadEvent } from "../graph/events.ts";
import type { EventLog, LoggedEvent } from "../store/event-log.ts";
import type { Logger } from "../tools/ports.ts";

/** What the live view shows: the runner's events plus intake's and the admins'. */
export type LiveEvent =
  | LeadEvent
  | {
      type: "lead.received";
      leadId: string;
      at: string;
      source: string;
      company?: string;
      channel?: string;
    }
  | { type: "processing.paused" | "processing.resumed"; at: string; by?: string };

/** A stream of events for one live view. */
export interface LiveStream {
  /** What the view asked to start with (events after its id, or the newest `last`). */
  initial: LoggedEvent[];
  /** Events the view asked for were already trimmed from the log. */
  gap: boolean;
  /** The next events, waiting up to `timeoutMs` for some; empty on timeout. */
  next(timeoutMs: number): Promise<EventBatch>;
  /** Stops waiting; `next` then returns empty at once. */
  close(): void;
}

export interface EventBatch {
  events: LoggedEvent[];
  gap: boolean;
}

export interface OpenStreamOptions {
  /** Resume after this id (the SSE `Last-Event-ID`). */
  afterId?: string;
  /** Without `afterId`: start with the newest `last` events (default 0: only new ones). */
  last?: number;
}

export interface LiveEvents {
  /** Queues an event for the log; returns at once. */
  publish(event: LiveEvent): void;
  /** Throws InvalidEventIdError for an id the log never made. */
  open(options: OpenStreamOptions): Promise<LiveStream>;
  /** Writes what is queued (tests, shutdown). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface LiveEventsOptions {
  log: EventLog;
  logger: Logger;
  /** How long an event may wait for its batch. Default 25 ms. */
  flushMs?: number;
  /** Events per write. Default 100. */
  maxBatch?: number;
  /** Also called with every written batch (outbound forwarding). */
  onBatch?: (events: LiveEvent[]) => void;
}

/** Events held in memory while the log is unreachable; the oldest go first. */
const MAX_PENDING = 10_000;
const READ_LIMIT = 500;

export function createLiveEvents(options: LiveEventsOptions): LiveEvents {
  const { log, logger } = options;
  const flushMs = options.flushMs ?? 25;
  const maxBatch = options.maxBatch ?? 100;
  let pending: LiveEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  let dropped = 0;
  let closed = false;

  function write(): Promise<void> {
    timer = undefined;
    writing = writing.then(async () => {
      while (pending.length > 0) {
        const batch = pending.slice(0, maxBatch);
        try {
          await log.append(batch as unknown as Array<Record<string, unknown>>);
          pending = pending.slice(batch.length);
          options.onBatch?.(batch);
        } catch (err) {
          // The log is away: keep the events for the next flush, bounded.
          logger.warn({ err: err instanceof Error ? err.message : String(err) }, "lead events not written");
          if (!closed) timer ??= setTimeout(write, 1000).unref();
          return;
        }
      }
    });
    return writing;
  }

  // One follower per process while any view is open; a generation number tells each view whether anything
  // came since it last read.
  let generation = 0;
  const waiters = new Set<() => void>();
  let following = false;
  let openStreams = 0;

  async function follow(): Promise<void> {
    following = true;
    try {
      let seen = await log.lastId();
      // Wakes views that registered while no follower ran: they read again and find what came meanwhile.
      wake();
      while (openStreams > 0 && !closed) {
        await log.waitAfter(seen, 5000);
        const last = await log.lastId();
        if (last !== seen) {
          seen = last;
          wake();
        }
      }
    } catch (err) {
      logger.warn({ err: err instanceof Error ? err.message : String(err) }, "live event follower failed");
      await new Promise((resolve) => setTimeout(resolve, 1000).unref());
    } finally {
      following = false;
    }
    if (openStreams > 0 && !closed) void follow();
  }

  function wake(): void {
    generation += 1;
    for (const waiter of [...waiters]) waiter();
  }

  function changedSince(seenGeneration: number, timeoutMs: number): Promise<void> {
    if (generation !== seenGeneration || closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timeout);
        waiters.delete(done);
        resolve();
      };
      const timeout = setTimeout(done, timeoutMs);
      waiters.add(done);
    });
  }

  return {
    publish(event) {
      if (closed) return;
      pending.push(event);
      if (pending.length > MAX_PENDING) {
        const over = pending.length - MAX_PENDING;
        pending = pending.slice(over);
        dropped += over;
        if (dropped % 1000 < over) logger.warn({ dropped }, "lead events dropped: the event log is behind");
      }
      if (pending.length >= maxBatch) void write();
      else timer ??= setTimeout(write, flushMs).unref();
    },

    async open(openOptions) {
      let cursor: string;
      let initial: LoggedEvent[] = [];
      let gap = false;
      if (openOptions.afterId !== undefined) {
        const page = await log.readAfter(openOptions.afterId, READ_LIMIT);
        initial = page.events;
        gap = page.gap;
        cursor = initial.at(-1)?.id ?? openOptions.afterId;
      } else {
        initial = openOptions.last ? await log.readLast(openOptions.last) : [];
        cursor = initial.at(-1)?.id ?? (await log.lastId());
      }
      let open = true;
      let cancel: (() => void) | undefined;
      openStreams += 1;
      if (!following) void follow();
      return {
        initial,
        gap,
        async next(timeoutMs) {
          if (!open) return { events: [], gap: false };
          const seen = generation;
          let page = await log.readAfter(cursor, READ_LIMIT);
          if (page.events.length === 0 && !page.gap) {
            await new Promise<void>((resolve) => {
              cancel = resolve;
              changedSince(seen, timeoutMs).then(resolve, resolve);
            });
            cancel = undefined;
            if (!open) return { events: [], gap: false };
            page = await log.readAfter(cursor, READ_LIMIT);
          }
          cursor = page.events.at(-1)?.id ?? cursor;
          return page;
        },
        close() {
          if (open) openStreams -= 1;
          open = false;
          cancel?.();
        },
      };
    },

    async flush() {
      clearTimeout(timer);
      await write();
    },

    async close() {
      clearTimeout(timer);
      await write().catch(() => undefined);
      closed = true;
      for (const waiter of [...waiters]) waiter();
      await log.close();
    },
  };
}
