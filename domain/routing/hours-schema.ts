/**
 * An owner's `timezone` and weekly `hours` in routing.json, as RevOps writes them and as the engine reads them.
 *
 *     "timezone": "Europe/Berlin",
 *     "hours": { "mon-thu": ["08:30-12:00", "13:00-17:30"], "fri": "08:30-15:00" }
 *
 * Keys are days (`mon` … `sun`, or the full names) or ranges of days (`mon-fri`, `sun-thu`); values are one
 * range or a list of ranges, `HH:MM-HH:MM` in the owner's local time, end after start (`24:00` ends the day).
 * A day without a key is a day off. Problems are reported at the key or range they are about.
 */
import { z } from "zod";

export const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Day = (typeof DAYS)[number];

/** Minutes after local midnight: `start` inclusive, `end` exclusive, end at most 1440. */
export interface MinuteRange {
  start: number;
  end: number;
}

/** Working ranges per weekday, Monday first (index 0) to Sunday (6), each day's ranges sorted. */
export type WeeklyHours = MinuteRange[][];

const FULL_NAMES = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

function dayIndex(name: string): number | undefined {
  const lower = name.trim().toLowerCase();
  const short = DAYS.indexOf(lower as Day);
  if (short >= 0) return short;
  const full = FULL_NAMES.indexOf(lower);
  return full >= 0 ? full : undefined;
}

/** The weekday indexes a key names: one day, or a range that may wrap over the weekend (`sun-thu`). */
function daysOfKey(key: string): number[] | string {
  const parts = key.split("-");
  const indexes = parts.map(dayIndex);
  const bad = parts.find((_, i) => indexes[i] === undefined);
  if (parts.length > 2 || bad !== undefined)
    return `"${bad ?? key}" is not a day: use mon, tue, wed, thu, fri, sat, sun or a range such as mon-fri`;
  const [from, to = from] = indexes as number[];
  const days: number[] = [];
  for (let d = from!; ; d = (d + 1) % 7) {
    days.push(d);
    if (d === to) return days;
  }
}

export const minuteText = (minute: number): string =>
  `${String(Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`;

export const rangeText = (r: MinuteRange): string => `${minuteText(r.start)}-${minuteText(r.end)}`;

function parseRange(text: string): MinuteRange | string {
  const m = /^\s*(\d\d):(\d\d)\s*-\s*(\d\d):(\d\d)\s*$/.exec(text);
  const hint = `write a range as HH:MM-HH:MM in 24-hour time, e.g. 09:00-17:30`;
  if (!m) return `"${text}": ${hint}`;
  const [h1, m1, h2, m2] = m.slice(1).map(Number) as [number, number, number, number];
  const start = h1 * 60 + m1;
  const end = h2 * 60 + m2;
  if (h1 > 23 || m1 > 59 || m2 > 59 || end > 1440) return `"${text}" is not a time of day: ${hint}`;
  if (end <= start)
    return `"${text}" ends before it starts; for a shift past midnight write 22:00-24:00 on one day and 00:00-06:00 on the next`;
  return { start, end };
}

export const weeklyHoursSchema = z
  .record(z.string(), z.union([z.string(), z.array(z.string())]), {
    error: 'must be an object of day → ranges, e.g. { "mon-fri": "09:00-17:30" }',
  })
  .transform((input, ctx): WeeklyHours => {
    const week: WeeklyHours = DAYS.map(() => []);
    const setBy = new Map<number, string>();
    for (const [key, value] of Object.entries(input)) {
      const days = daysOfKey(key);
      if (typeof days === "string") {
        ctx.addIssue({ code: "custom", message: days, path: [key] });
        continue;
      }
      const taken = days.find((d) => setBy.has(d));
      if (taken !== undefined) {
        ctx.addIssue({
          code: "custom",
          message: `${DAYS[taken]} is already set by "${setBy.get(taken)}"`,
          path: [key],
        });
        continue;
      }
      const texts = typeof value === "string" ? [value] : value;
      const ranges: MinuteRange[] = [];
      texts.forEach((text, i) => {
        const range = parseRange(text);
        const path = typeof value === "string" ? [key] : [key, i];
        if (typeof range === "string") ctx.addIssue({ code: "custom", message: range, path });
        else {
          const clash = ranges.find((r) => r.start < range.end && range.start < r.end);
          if (clash)
            ctx.addIssue({ code: "custom", message: `"${text}" overlaps ${rangeText(clash)}`, path });
          else ranges.push(range);
        }
      });
      ranges.sort((a, b) => a.start - b.start);
      for (const d of days) {
        setBy.set(d, key);
        week[d] = ranges;
      }
    }
    if (week.every((day) => day.length === 0))
      ctx.addIssue({
        code: "custom",
        message: "lists no working time; leave `hours` out for always available",
      });
    return week;
  });

/** An IANA time zone name, canonicalised (`europe/berlin` → `Europe/Berlin`). */
export const timeZoneSchema = z.string().transform((name, ctx) => {
  const trimmed = name.trim();
  // Abbreviations such as EST or CET are fixed offsets (or links to one city) that ignore the owner's
  // daylight saving; a place name is what RevOps means.
  if (!trimmed.includes("/") && trimmed.toUpperCase() !== "UTC") {
    ctx.addIssue({
      code: "custom",
      message: `"${name}" is an abbreviation, not a place; use an IANA name such as Europe/Berlin or America/New_York`,
    });
    return z.NEVER;
  }
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: trimmed }).resolvedOptions().timeZone;
  } catch {
    ctx.addIssue({
      code: "custom",
      message: `"${name}" is not an IANA time zone (e.g. Europe/Berlin, America/Los_Angeles, Asia/Tokyo)`,
    });
    return z.NEVER;
  }
});
