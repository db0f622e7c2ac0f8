/**
 * Owners' local time: their day (away dates and daily caps are local dates), whether they are inside their
 * weekly hours, when their hours next start, and how much working time lies between two instants (SLA clocks
 * count in working hours). Pure, on Intl's time-zone data: no date library.
 */
import { DAYS, minuteText, type WeeklyHours } from "./hours-schema.ts";

/** What these functions read of an owner (routing.json's owner satisfies it). */
export interface OwnerSchedule {
  /** IANA name; absent: UTC. */
  timezone?: string | undefined;
  /** Absent: always working (on days they are not away). */
  hours?: WeeklyHours | undefined;
  /** Inclusive ranges of local dates, YYYY-MM-DD. */
  away?: ReadonlyArray<{ from: string; to: string }> | undefined;
}

/** An instant as seen on the owner's wall clock. */
export interface LocalClock {
  /** YYYY-MM-DD. */
  date: string;
  /** 0 = Monday … 6 = Sunday. */
  weekday: number;
  /** Minutes after local midnight. */
  minute: number;
}

const DAY_MS = 86_400_000;
// Far enough for any away stretch RevOps writes; past it an owner has no working time ahead.
const HORIZON_DAYS = 800;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The wall-clock fields of `ms` in `timeZone`, as a UTC timestamp (its offset is the zone's). */
function wallMs(timeZone: string, ms: number): number {
  const p: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(ms))
    if (part.type !== "literal") p[part.type] = Number(part.value);
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
}

const zoneOf = (owner: OwnerSchedule) => owner.timezone ?? "UTC";

/** The owner's wall clock at `at`. */
export function localClock(owner: OwnerSchedule, at: Date): LocalClock {
  const wall = new Date(wallMs(zoneOf(owner), Math.floor(at.getTime() / 1000) * 1000));
  return {
    date: wall.toISOString().slice(0, 10),
    weekday: (wall.getUTCDay() + 6) % 7,
    minute: wall.getUTCHours() * 60 + wall.getUTCMinutes(),
  };
}

/** The owner's local date at `at` (YYYY-MM-DD): their day for away ranges and daily caps. */
export const localDate = (owner: OwnerSchedule, at: Date): string => localClock(owner, at).date;

/** "Europe/Berlin Fri 19:40", for explanations. */
export function localClockText(owner: OwnerSchedule, at: Date): string {
  const c = localClock(owner, at);
  const day = DAYS[c.weekday]!;
  return `${zoneOf(owner)} ${day[0]!.toUpperCase()}${day.slice(1)} ${minuteText(c.minute)}`;
}

/**
 * The instant the owner's wall clock shows `minute` minutes into local `date`. Two passes settle the offset
 * on either side of a DST change; a wall time skipped by a spring-forward lands just after the gap.
 */
function instantOf(timeZone: string, date: string, minute: number): number {
  const wall = Date.parse(`${date}T00:00:00Z`) + minute * 60_000;
  let guess = wall - (wallMs(timeZone, wall) - wall);
  const second = wall - (wallMs(timeZone, guess) - guess);
  if (second !== guess) guess = Math.max(guess, second);
  return guess;
}

const nextDate = (date: string, days = 1) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);

export function isAway(owner: OwnerSchedule, date: string): boolean {
  return owner.away?.some((r) => r.from <= date && date <= r.to) ?? false;
}

/** Working intervals [start, end) in epoch ms, in order, from the owner's local day of `from` on. */
function* workingIntervals(owner: OwnerSchedule, from: Date): Generator<[number, number]> {
  const zone = zoneOf(owner);
  let date = localDate(owner, from);
  for (let i = 0; i < HORIZON_DAYS; i++, date = nextDate(date)) {
    if (isAway(owner, date)) continue;
    if (!owner.hours) {
      yield [instantOf(zone, date, 0), instantOf(zone, nextDate(date), 0)];
      continue;
    }
    const weekday = (new Date(`${date}T00:00:00Z`).getUTCDay() + 6) % 7;
    for (const r of owner.hours[weekday] ?? [])
      yield [
        instantOf(zone, date, r.start),
        r.end === 1440 ? instantOf(zone, nextDate(date), 0) : instantOf(zone, date, r.end),
      ];
  }
}

/** True when `at` is inside the owner's hours on a day they are not away (no hours: any time). */
export function isWorking(owner: OwnerSchedule, at: Date): boolean {
  return nextWorkingStart(owner, at)?.getTime() === at.getTime();
}

/**
 * When the owner is next at work: `now` itself inside their hours, else the start of their next range
 * (skipping away days). Undefined when nothing starts within the horizon (away for years). The SLA clock
 * of a lead assigned outside the owner's hours starts here.
 */
export function nextWorkingStart(owner: OwnerSchedule, now: Date): Date | undefined {
  const t = now.getTime();
  if (!owner.hours && !owner.away?.length) return now;
  for (const [start, end] of workingIntervals(owner, now)) if (end > t) return new Date(Math.max(start, t));
  return undefined;
}

/** Milliseconds of the owner's working time in [from, to): what an SLA counted in working hours measures. */
export function workingMsBetween(owner: OwnerSchedule, from: Date, to: Date): number {
  const a = from.getTime();
  const b = to.getTime();
  if (b <= a) return 0;
  if (!owner.hours && !owner.away?.length) return b - a;
  let total = 0;
  for (const [start, end] of workingIntervals(owner, from)) {
    if (start >= b) break;
    total += Math.max(0, Math.min(end, b) - Math.max(start, a));
  }
  return total;
}

/**
 * The instant at which `ms` of the owner's working time have passed since `from`: an SLA deadline counted
 * in their hours (time outside them and away days do not count). Undefined past the horizon.
 */
export function addWorkingMs(owner: OwnerSchedule, from: Date, ms: number): Date | undefined {
  const a = from.getTime();
  if (!owner.hours && !owner.away?.length) return new Date(a + ms);
  let left = Math.max(0, ms);
  for (const [start, end] of workingIntervals(owner, from)) {
    if (end <= a) continue;
    const s = Math.max(start, a);
    if (end - s >= left) return new Date(s + left);
    left -= end - s;
  }
  return undefined;
}
