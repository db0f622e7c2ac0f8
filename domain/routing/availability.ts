/**
 * Whether an owner can take a lead now, and counting it on their day: active, not away (local dates), under
 * their daily cap (counted on their local day), and when their working hours start.
 */
import type { Counters } from "../types.ts";
import { localClockText, localDate, nextWorkingStart } from "./hours.ts";
import type { Owner } from "./schema.ts";

// Two days so a counter outlives its local day whatever the store's clock skew, then disappears.
export const CAP_TTL_SECONDS = 2 * 24 * 60 * 60;

export const capKey = (ownerId: string, day: string) => `cap:${ownerId}:${day}`;

export interface AvailabilityContext {
  counters: Counters;
  now: Date;
  dryRun?: boolean | undefined;
  /** Owners who already had the lead (re-routing): passed over. */
  exclude?: readonly string[] | undefined;
}

export type Availability =
  | { ok: false; why: string }
  /** `start` is `now` inside the owner's hours, else when their hours next start. */
  | { ok: true; start: Date; inHours: boolean };

/**
 * Who can take a lead: an active owner, not away on their local date, with working time ahead, and (with
 * `checkCap`) under their daily cap. A lead given outside their hours counts on the day their hours start.
 */
export async function availability(
  owner: Owner,
  ctx: AvailabilityContext,
  checkCap: boolean,
): Promise<Availability> {
  if (ctx.exclude?.includes(owner.id)) return { ok: false, why: `owner ${owner.id} already had this lead` };
  if (!owner.active) return { ok: false, why: `owner ${owner.id} is inactive` };
  const today = localDate(owner, ctx.now);
  const away = owner.away?.find((r) => r.from <= today && today <= r.to);
  if (away) return { ok: false, why: `owner ${owner.id} is away ${away.from}..${away.to}` };
  const start = nextWorkingStart(owner, ctx.now);
  if (!start) return { ok: false, why: `owner ${owner.id} has no working hours ahead` };
  if (checkCap && owner.dailyCap !== undefined) {
    // A cheap read first, so a pool leaves out members already at their cap; `count` then takes the slot.
    const used = await ctx.counters.get(capKey(owner.id, localDate(owner, start)));
    if (used >= owner.dailyCap) return { ok: false, why: atCap(owner) };
  }
  return { ok: true, start, inHours: start.getTime() === ctx.now.getTime() };
}

export const atCap = (owner: Owner) => `owner ${owner.id} is at daily cap ${owner.dailyCap}`;

export const outsideHours = (owner: Owner, now: Date) =>
  `owner ${owner.id} is outside their hours (${localClockText(owner, now)})`;

/** The explanation line of a lead handed to an owner outside their hours. */
export const waitsFor = (owner: Owner, now: Date, start: Date) =>
  `${outsideHours(owner, now)}: the lead waits for their hours to start ${localClockText(owner, start)} (${start.toISOString()})`;

/**
 * Counts the lead on the owner's day (the local day their hours start). With `capped` and a daily cap, the
 * slot is taken atomically (incrementBelow): leads in flight in other workers cannot push the owner past the
 * cap, and the one that loses the race gets `{ taken: false }`. Uncapped assignments (account, contact) still
 * count, so a cap added mid-day starts from the true figure. A dry run moves nothing.
 */
export async function count(
  owner: Owner,
  start: Date,
  ctx: AvailabilityContext,
  capped: boolean,
): Promise<{ taken: boolean; key?: string }> {
  if (ctx.dryRun) return { taken: true };
  const key = capKey(owner.id, localDate(owner, start));
  if (capped && owner.dailyCap !== undefined) {
    const { taken } = await ctx.counters.incrementBelow(key, owner.dailyCap, CAP_TTL_SECONDS);
    return taken ? { taken, key } : { taken };
  }
  await ctx.counters.increment(key, CAP_TTL_SECONDS);
  return { taken: true, key };
}
