import { describe, expect, it } from "vitest";
import { parseRoutingConfig } from "../config/routing.ts";
import {
  describeSla,
  formatDuration,
  ownerSla,
  parseDuration,
  queueSla,
  slaDeadline,
} from "../domain/routing/sla.ts";

// biome-ignore lint/suspicious/noExplicitAny: tests write wrong shapes into the JSON on purpose.
type LooseJson = Record<string, any>;

function base(): LooseJson {
  return {
    owners: [
      { id: "ann", name: "Ann", email: "ann@example.com" },
      { id: "bob", name: "Bob", email: "bob@example.com" },
      { id: "boss", name: "Boss", email: "boss@example.com" },
    ],
    pools: [
      {
        id: "team",
        sla: { acceptWithin: "2h", onBreach: "reassign", maxReassignments: 1 },
        members: [
          { owner: "ann", weight: 1 },
          { owner: "bob", weight: 1 },
        ],
      },
    ],
    queues: [
      { id: "review", name: "Review", path: "review", sla: { acceptWithin: "4h", onBreach: "notify" } },
      { id: "nurture", name: "Nurture", path: "nurture" },
    ],
    rules: [
      {
        name: "west",
        sla: { acceptWithin: "15m", onBreach: "escalate", escalateTo: "boss" },
        assign: { type: "owner", owner: "ann" },
      },
      { name: "team", assign: { type: "pool", pool: "team" } },
    ],
    fallback: { type: "queue", queue: "review" },
  };
}

function parsed(json: LooseJson) {
  const result = parseRoutingConfig(json);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.config;
}

function errorsOf(json: LooseJson) {
  const result = parseRoutingConfig(json);
  return result.ok ? [] : result.errors;
}

describe("durations", () => {
  it.each([
    ["30s", 30_000],
    ["15m", 900_000],
    ["2h", 7_200_000],
    ["1d", 86_400_000],
    [" 5m ", 300_000],
  ])("%s is %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["15", "15 m", "1.5h", "-1m", "15min", "", "1w"])("%j is not a duration", (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it("writes a held time the way a person reads it", () => {
    expect(formatDuration(0)).toBe("0s");
    expect(formatDuration(2_400)).toBe("2s");
    expect(formatDuration(125_000)).toBe("2m 5s");
    expect(formatDuration(3 * 3_600_000 + 61_000)).toBe("3h 1m");
    expect(formatDuration(90_000_000)).toBe("1d 1h");
  });
});

describe("sla in routing.json", () => {
  it("is optional on rules, pools and queues, with defaults for onBreach and maxReassignments", () => {
    const json = base();
    json.rules[1].sla = { acceptWithin: "30s" };
    const config = parsed(json);
    expect(config.rules[1]?.sla).toEqual({ acceptWithin: "30s", onBreach: "reassign", maxReassignments: 2 });
    expect(config.pools[0]?.sla).toMatchObject({ acceptWithin: "2h", maxReassignments: 1 });
  });

  it("names the JSON path of every problem", () => {
    const json = base();
    json.rules[0].sla = { acceptWithin: "soon", onBreach: "panic" };
    json.rules[1].sla = { acceptWithin: "31d" };
    json.pools[0].sla = { acceptWithin: "1h", onBreach: "escalate" };
    json.queues[0].sla = { acceptWithin: "1h", onBreach: "escalate", escalateTo: "nobody" };
    json.queues[1].sla = { acceptWithin: "1h", onBreach: "notify", extra: true };
    const errors = errorsOf(json);
    const paths = errors.map((e) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        "$.rules[0].sla.acceptWithin",
        "$.rules[0].sla.onBreach",
        "$.rules[1].sla.acceptWithin",
        "$.pools[0].sla.escalateTo",
        "$.queues[0].sla.escalateTo",
        "$.queues[1].sla",
      ]),
    );
    expect(errors.find((e) => e.path === "$.rules[0].sla.acceptWithin")?.message).toContain('"soon"');
    expect(errors.find((e) => e.path === "$.queues[0].sla.escalateTo")?.message).toBe(
      'unknown owner or queue "nobody"',
    );
    expect(errors.find((e) => e.path === "$.pools[0].sla.escalateTo")?.message).toBe(
      'onBreach "escalate" needs escalateTo',
    );
  });

  it("refuses a review queue that would reassign and an SLA on a nurture queue", () => {
    const json = base();
    json.queues[0].sla = { acceptWithin: "1h" };
    json.queues[1].sla = { acceptWithin: "1h", onBreach: "notify" };
    expect(errorsOf(json)).toEqual([
      {
        path: "$.queues[0].sla.onBreach",
        message: 'a review queue\'s SLA can "escalate" or "notify"; "reassign" needs a pool or an owner',
      },
      { path: "$.queues[1].sla", message: "a nurture queue waits for nobody: an sla has no effect here" },
    ]);
  });
});

describe("the SLA clock in the owner's working hours", () => {
  const json = base();
  json.owners[0] = {
    ...json.owners[0],
    timezone: "America/Los_Angeles",
    hours: { "mon-fri": "09:00-17:00" },
    away: [{ from: "2026-06-22", to: "2026-06-22" }],
  };
  json.owners[1] = { ...json.owners[1], timezone: "Asia/Tokyo" };
  const config = parsed(json);
  const ann = config.owners[0]!;
  const bob = config.owners[1]!;
  const twoHours = { ...ownerSla({ ruleName: "team", pool: "team" }, config)! };

  it("counts only working time: Friday 16:30 in Los Angeles + 2h is Tuesday 10:30 (Monday away)", () => {
    // 2026-06-19 is a Friday; 16:30 PDT is 23:30 UTC.
    const since = new Date("2026-06-19T23:30:00Z");
    expect(slaDeadline(since, twoHours, ann).toISOString()).toBe("2026-06-23T17:30:00.000Z");
  });

  it("starts the clock when the hours start for a lead given at night", () => {
    // 03:00 PDT on a Wednesday: the two hours run 09:00-11:00 local.
    expect(slaDeadline(new Date("2026-06-17T10:00:00Z"), twoHours, ann).toISOString()).toBe(
      "2026-06-17T18:00:00.000Z",
    );
  });

  it("is wall-clock time for an owner without hours and for a queue", () => {
    const since = new Date("2026-06-19T23:30:00Z");
    expect(slaDeadline(since, twoHours, bob).toISOString()).toBe("2026-06-20T01:30:00.000Z");
    expect(slaDeadline(since, twoHours).toISOString()).toBe("2026-06-20T01:30:00.000Z");
  });
});

describe("which SLA applies", () => {
  const config = parsed(base());

  it("the rule's wins over its pool's; the pool's applies when the rule has none; none otherwise", () => {
    expect(ownerSla({ ruleName: "west" }, config)).toMatchObject({
      acceptWithin: "15m",
      acceptWithinMs: 900_000,
      source: 'rule "west"',
    });
    expect(ownerSla({ ruleName: "team", pool: "team" }, config)).toMatchObject({
      acceptWithin: "2h",
      source: 'pool "team"',
    });
    expect(ownerSla({ ruleName: "fallback" }, config)).toBeUndefined();
    expect(ownerSla(undefined, config)).toBeUndefined();
  });

  it("a review queue's SLA, its deadline, and the SLA in words", () => {
    const sla = queueSla("review", config);
    expect(sla).toMatchObject({ acceptWithinMs: 4 * 3_600_000, onBreach: "notify" });
    if (!sla) throw new Error("no sla");
    expect(slaDeadline(new Date("2026-06-15T10:00:00Z"), sla).toISOString()).toBe("2026-06-15T14:00:00.000Z");
    expect(describeSla(sla)).toBe('accept within 4h (queue "review"); if missed: remind the owner');
    const west = ownerSla({ ruleName: "west" }, config);
    if (!west) throw new Error("no sla");
    expect(describeSla(west)).toBe('accept within 15m (rule "west"); if missed: escalate to boss');
  });
});
