/**
 * The `sla` object of routing.json (on a rule, pool or queue) and its durations, as RevOps writes them:
 *
 *     "sla": { "acceptWithin": "15m", "onBreach": "reassign", "maxReassignments": 2 }
 *
 * Apart from domain/routing/sla.ts, which reads routes through the whole config, so that the config's schema
 * can hold it without an import circle.
 */
import { z } from "zod";

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** Thirty days: longer than any acceptance window a team would mean. */
export const MAX_SLA_MS = 30 * UNIT_MS.d;

/** "30s", "15m", "2h", "1d" → milliseconds; undefined for anything else. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,7})(s|m|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

export const BREACH_ACTIONS = ["reassign", "escalate", "notify"] as const;
export type BreachAction = (typeof BREACH_ACTIONS)[number];

export const slaSchema = z
  .strictObject({
    acceptWithin: z.string().transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined || ms <= 0 || ms > MAX_SLA_MS) {
        ctx.addIssue({
          code: "custom",
          message: `"${text}" is not a duration such as "30s", "15m", "2h" or "1d" (at most 30 days)`,
        });
        return z.NEVER;
      }
      return text.trim();
    }),
    onBreach: z.enum(BREACH_ACTIONS).default("reassign"),
    /** An owner id (their DM) or a queue id (its channel). */
    escalateTo: z.string().trim().min(1).optional(),
    /** Reassignments after a missed SLA before the lead is escalated (or the owner reminded) instead. */
    maxReassignments: z.number().int().nonnegative().max(20).default(2),
  })
  .superRefine((sla, ctx) => {
    if (sla.onBreach === "escalate" && sla.escalateTo === undefined)
      ctx.addIssue({ code: "custom", path: ["escalateTo"], message: 'onBreach "escalate" needs escalateTo' });
  });

export type Sla = z.output<typeof slaSchema>;
