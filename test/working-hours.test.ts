import { describe, expect, it } from "vitest";
import { parseRoutingConfig } from "../config/routing.ts";
import {
  isWorking,
  localClockText,
  localDate,
  nextWorkingStart,
  type OwnerSchedule,
  workingMsBetween,
} from "../domain/routing/hours.ts";
import type { Owner } from "../domain/routing/schema.ts";

/** Owners as RevOps writes them, parsed by the real schema. */
function owners(...extra: Array<Record<string, unknown>>): Owner[] {
  const result = parseRoutingConfig({
    owners: extra.map((o, i) => ({ id: `o${i}`, name: `O${i}`, email: `o${i}@example.com`, ...o })),
    queues: [{ id: "q", name: "Q", path: "review" }],
    rules: [],
    fallback: { type: "queue", queue: "q" },
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.config.owners;
}

function problems(owner: Record<string, unknown>) {
  const result = parseRoutingConfig({
    owners: [{ id: "o", name: "O", email: "o@example.com", ...owner }],
    queues: [{ id: "q", name: "Q", path: "review" }],
    rules: [],
    fallback: { type: "queue", queue: "q" },
  });
  return result.ok ? [] : result.errors;
}

const [berlin, la, tokyo] = owners(
  { timezone: "Europe/Berlin", hours: { "mon-fri": "09:00-17:30" } },
  {
    timezone: "America/Los_Angeles",
    hours: { "mon-thu": ["08:00-12:00", "13:00-17:00"], fri: "08:00-15:00" },
  },
  { timezone: "asia/tokyo", hours: { monday: "09:30-18:30", "tue-fri": "09:30-18:30" } },
) as [Owner, Owner, Owner];

const at = (iso: string) => new Date(iso);
const iso = (d: Date | undefined) => d?.toISOString();

describe("timezone and hours in routing.json", () => {
  it("reads day ranges, single days and full names into a Monday-first week in minutes", () => {
    expect(la.hours?.[0]).toEqual([
      { start: 480, end: 720 },
      { start: 780, end: 1020 },
    ]);
    expect(la.hours?.[4]).toEqual([{ start: 480, end: 900 }]);
    expect(la.hours?.[5]).toEqual([]);
    expect(tokyo.timezone).toBe("Asia/Tokyo");
    expect(tokyo.hours?.slice(0, 5).every((d) => d.length === 1)).toBe(true);
  });

  it("takes a range of days over the weekend (sun-thu) and 24:00 as the end of the day", () => {
    const [o] = owners({ timezone: "Asia/Dubai", hours: { "sun-thu": "08:00-24:00" } });
    expect(o?.hours?.map((d) => d.length)).toEqual([1, 1, 1, 1, 0, 0, 1]);
    expect(o?.hours?.[6]).toEqual([{ start: 480, end: 1440 }]);
  });

  it.each([
    [
      "an unknown time zone",
      { timezone: "Europe/Berln" },
      "$.owners[0].timezone",
      '"Europe/Berln" is not an IANA time zone (e.g. Europe/Berlin, America/Los_Angeles, Asia/Tokyo)',
    ],
    [
      "an abbreviation",
      { timezone: "EST" },
      "$.owners[0].timezone",
      '"EST" is an abbreviation, not a place; use an IANA name such as Europe/Berlin or America/New_York',
    ],
    [
      "hours without a time zone",
      { hours: { "mon-fri": "09:00-17:00" } },
      "$.owners[0].hours",
      "hours are local times: add a timezone (an IANA name such as Europe/Berlin)",
    ],
    [
      "a day set twice",
      { timezone: "UTC", hours: { "mon-fri": "09:00-17:00", fri: "09:00-12:00" } },
      "$.owners[0].hours.fri",
      'fri is already set by "mon-fri"',
    ],
    [
      "overlapping ranges",
      { timezone: "UTC", hours: { mon: ["09:00-12:00", "11:30-14:00"] } },
      "$.owners[0].hours.mon[1]",
      '"11:30-14:00" overlaps 09:00-12:00',
    ],
    [
      "a range that ends before it starts",
      { timezone: "UTC", hours: { mon: "22:00-06:00" } },
      "$.owners[0].hours.mon",
      '"22:00-06:00" ends before it starts; for a shift past midnight write 22:00-24:00 on one day and 00:00-06:00 on the next',
    ],
    [
      "a badly written time",
      { timezone: "UTC", hours: { mon: "9-5" } },
      "$.owners[0].hours.mon",
      '"9-5": write a range as HH:MM-HH:MM in 24-hour time, e.g. 09:00-17:30',
    ],
    [
      "an hour past 23",
      { timezone: "UTC", hours: { mon: "09:00-25:00" } },
      "$.owners[0].hours.mon",
      '"09:00-25:00" is not a time of day: write a range as HH:MM-HH:MM in 24-hour time, e.g. 09:00-17:30',
    ],
    [
      "an unknown day",
      { timezone: "UTC", hours: { "mo-fr": "09:00-17:00" } },
      "$.owners[0].hours.mo-fr",
      '"mo" is not a day: use mon, tue, wed, thu, fri, sat, sun or a range such as mon-fri',
    ],
    [
      "no working time at all",
      { timezone: "UTC", hours: { mon: [] } },
      "$.owners[0].hours",
      "lists no working time; leave `hours` out for always available",
    ],
  ])("reports %s at its JSON path", (_what, owner, path, message) => {
    expect(problems(owner)).toContainEqual({ path, message });
  });
});

describe("owners' local time", () => {
  // Friday 2 October 2026, 17:40 UTC: 19:40 in Berlin (CEST), 10:40 in Los Angeles (PDT), 02:40 Saturday in Tokyo.
  const friday = at("2026-10-02T17:40:00Z");

  it("reads each owner's wall clock and local date", () => {
    expect(localClockText(berlin, friday)).toBe("Europe/Berlin Fri 19:40");
    expect(localClockText(la, friday)).toBe("America/Los_Angeles Fri 10:40");
    expect(localClockText(tokyo, friday)).toBe("Asia/Tokyo Sat 02:40");
    expect(localDate(tokyo, friday)).toBe("2026-10-03");
    expect(localDate({}, friday)).toBe("2026-10-02");
  });

  it("knows who is inside their hours", () => {
    expect([berlin, la, tokyo].map((o) => isWorking(o, friday))).toEqual([false, true, false]);
    expect(isWorking({}, friday)).toBe(true);
    expect(isWorking(la, at("2026-10-02T19:30:00Z"))).toBe(true); // 12:30 Friday: no lunch break on Fridays
    expect(isWorking(la, at("2026-10-01T19:30:00Z"))).toBe(false); // 12:30 Thursday: lunch
    expect(isWorking(berlin, at("2026-10-02T15:29:59Z"))).toBe(true); // 17:29:59
    expect(isWorking(berlin, at("2026-10-02T15:30:00Z"))).toBe(false); // 17:30: the end is exclusive
  });

  it("finds when each owner's hours next start", () => {
    expect(iso(nextWorkingStart(la, friday))).toBe(friday.toISOString());
    expect(iso(nextWorkingStart(berlin, friday))).toBe("2026-10-05T07:00:00.000Z"); // Mon 09:00 CEST
    expect(iso(nextWorkingStart(tokyo, friday))).toBe("2026-10-05T00:30:00.000Z"); // Mon 09:30 JST
    expect(iso(nextWorkingStart(la, at("2026-10-01T19:30:00Z")))).toBe("2026-10-01T20:00:00.000Z"); // 13:00
  });

  it("counts the change of offset when daylight saving ends in between", () => {
    // Friday 23 October 19:00 CEST; Berlin goes back to CET on Sunday 25 October.
    expect(iso(nextWorkingStart(berlin, at("2026-10-23T17:00:00Z")))).toBe("2026-10-26T08:00:00.000Z");
    // Los Angeles changes a week later: Friday 30 October 16:00 PDT → Monday 08:00 PST.
    expect(iso(nextWorkingStart(la, at("2026-10-30T23:00:00Z")))).toBe("2026-11-02T16:00:00.000Z");
  });

  it("skips away days, which are the owner's local dates", () => {
    const [away] = owners({
      timezone: "Asia/Tokyo",
      hours: { "mon-fri": "09:30-18:30" },
      away: [{ from: "2026-10-05", to: "2026-10-06" }],
    }) as [Owner];
    expect(iso(nextWorkingStart(away, at("2026-10-02T17:40:00Z")))).toBe("2026-10-07T00:30:00.000Z");
    // Without hours an owner works any time of a day they are not away.
    const always: OwnerSchedule = {
      timezone: "Asia/Tokyo",
      away: [{ from: "2026-10-03", to: "2026-10-03" }],
    };
    expect(iso(nextWorkingStart(always, friday))).toBe("2026-10-03T15:00:00.000Z"); // Sun 00:00 JST
  });

  it("has no next start for an owner away beyond the horizon", () => {
    const gone: OwnerSchedule = { ...berlin, away: [{ from: "2026-01-01", to: "2030-12-31" }] };
    expect(nextWorkingStart(gone, friday)).toBeUndefined();
  });

  it("measures working time between two instants for SLA clocks", () => {
    const minutes = (o: OwnerSchedule, from: string, to: string) =>
      workingMsBetween(o, at(from), at(to)) / 60_000;
    // Fri 17:00 → Mon 09:15 in Berlin: 30 minutes on Friday, 15 on Monday.
    expect(minutes(berlin, "2026-10-02T15:00:00Z", "2026-10-05T07:15:00Z")).toBe(45);
    // Thu 11:30 → 13:30 in Los Angeles, over the lunch break: one hour.
    expect(minutes(la, "2026-10-01T18:30:00Z", "2026-10-01T20:30:00Z")).toBe(60);
    // Over a whole week in Tokyo: 5 × 9 hours.
    expect(minutes(tokyo, "2026-10-04T00:00:00Z", "2026-10-11T00:00:00Z")).toBe(5 * 9 * 60);
    expect(minutes({}, "2026-10-02T15:00:00Z", "2026-10-02T15:20:00Z")).toBe(20);
    expect(minutes(berlin, "2026-10-05T09:00:00Z", "2026-10-05T08:00:00Z")).toBe(0);
  });
});
