/**
 * The event log port: lead progress events from every process, kept for a while, readable from any
 * process after a given id. Live views read it (GET /admin/events) and resume from their `Last-Event-ID`
 * after a reconnect without a gap for as long as the events are kept (EVENTS_KEEP, at least 1,000).
 *
 * - SQLite (embedded): an `events` table beside the leads; readers poll it.
 * - Redis: one stream (XADD ... MAXLEN ~), each entry a batch of events; readers block on XREAD.
 */

/** One stored event: its id (opaque, increasing) and the event as written. */
export interface LoggedEvent {
  id: string;
  data: Record<string, unknown>;
}

export interface EventPage {
  events: LoggedEvent[];
  /** Events after the requested id were trimmed before they could be read: the reader missed some. */
  gap: boolean;
}

export interface EventLog {
  readonly name: string;
  /** Appends events in order, in one write. */
  append(events: ReadonlyArray<Record<string, unknown>>): Promise<void>;
  /** Events after `afterId` (exclusive), oldest first, at most about `limit`. Throws on an id it never made. */
  readAfter(afterId: string, limit: number): Promise<EventPage>;
  /** The newest `count` events, oldest first. */
  readLast(count: number): Promise<LoggedEvent[]>;
  /** The newest event's id, or the id before any event. */
  lastId(): Promise<string>;
  /**
   * Resolves once events after `afterId` may exist, or after `timeoutMs`. Meant for one caller at a time
   * per process (app/live-events.ts fans its wake-ups out to every live view).
   */
  waitAfter(afterId: string, timeoutMs: number): Promise<void>;
  /** Retention: drops the events written before `cutoff` (oldest first, so a reader still sees a gap). */
  trimBefore(cutoff: Date): Promise<void>;
  close(): Promise<void>;
}

/** An id the log did not produce (a forged or foreign `Last-Event-ID`). */
export class InvalidEventIdError extends Error {
  override readonly name = "InvalidEventIdError";
  readonly code = "invalid_event_id";
  readonly id: string;
  constructor(id: string) {
    super("not an event id of this service");
    this.id = id;
  }
}

/** Events kept when nothing says otherwise. */
export const DEFAULT_EVENTS_KEEP = 5000;
