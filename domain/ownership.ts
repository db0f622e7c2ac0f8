/**
 * The owner loop's vocabulary (docs/architecture.md, "The owner loop"): what an owner, a reviewer or the SLA
 * timer can do to a lead that waits for them, and the lead's ownership record (who holds it, whether they took
 * it, every hand-off with how long the previous holder had it). Pure: the slack interactions route, the admin
 * API and the CLI build `OwnerAction`s; the graph's awaitOwner and reviewLead steps read them.
 */

import type { RoutingConfig } from "./routing/schema.ts";
import { describeSla, ownerSla, queueSla, slaDeadline } from "./routing/sla.ts";
import type { NotificationRecord, Route } from "./types.ts";

export const OWNER_ACTIONS = ["accept", "reassign", "decline"] as const;
export type OwnerActionKind = (typeof OWNER_ACTIONS)[number];
export const REVIEW_ACTIONS = ["approve", "route", "nurture"] as const;
export type ReviewActionKind = (typeof REVIEW_ACTIONS)[number];
export const ALL_ACTIONS = [...OWNER_ACTIONS, ...REVIEW_ACTIONS] as const;

export const DECLINE_REASONS = ["wrong_territory", "not_a_buyer", "spam", "existing_customer"] as const;
export type DeclineReason = (typeof DECLINE_REASONS)[number];

export const ACTION_SOURCES = ["slack", "admin", "cli", "timer"] as const;

export interface OwnerAction {
  action: OwnerActionKind | ReviewActionKind;
  /** Who acted: Slack user id, admin name, "cli:<user>", or "sla-timer". */
  by: string;
  reason?: DeclineReason | string;
  /** Reassign/route target owner id (optional for reassign: the next in the pool). */
  to?: string;
  via: "slack" | "admin" | "cli" | "timer";
}

export type OwnershipStatus = "awaiting" | "accepted" | "declined" | "reassigned";

export interface Handoff {
  from: string;
  /** Null when nobody could take the lead (the pool ran out): it went to review or escalation. */
  to: string | null;
  kind: "reassign" | "decline" | "sla" | "escalate" | "review";
  by: string;
  /** ISO time of the hand-off. */
  at: string;
  /** How long `from` held the lead before it moved. */
  afterMs: number;
  reason?: string;
}

export interface Ownership {
  ownerId: string | null;
  status: OwnershipStatus;
  decidedBy?: string;
  /** ISO time of the decision. */
  decidedAt?: string;
  handoffs: Handoff[];
  /** ISO time the current holder was told (their acceptance clock starts here, or when their hours start). */
  awaitingSince?: string;
  /** ISO time the SLA runs out, when the lead has one. */
  deadline?: string;
  /** Which wait this is: 0 for the first owner, one more per hand-off. Actions and timers name it. */
  round?: number;
  /** What the lead waits for: an owner's acceptance or a reviewer's decision. */
  waitingFor?: "owner" | "review";
  /** The SLA has escalated or reminded: no further timer for this lead. */
  slaDone?: boolean;
  /** SLAs that ran out on this lead (reports count them). */
  breaches?: number;
}

/** What an `interrupt()` of the owner loop carries: checked against the action that resumes it. */
export interface OwnerWait {
  kind: "owner" | "review";
  leadId: string;
  round: number;
  ownerId: string | null;
}

/** A resume value: a person's action, or the SLA timer of a round firing. */
export type OwnerResume =
  | { type: "action"; round: number; action: OwnerAction; at: string }
  | { type: "timer"; round: number; at: string };

export type ActionCheck = { ok: true; action: OwnerAction } | { ok: false; message: string; field?: string };

const isOneOf = <T extends string>(list: readonly T[], value: unknown): value is T =>
  typeof value === "string" && (list as readonly string[]).includes(value);

/**
 * Whether `action` fits a lead waiting for `waitingFor`: an owner accepts, reassigns or declines; a reviewer
 * approves, routes or nurtures. Names the field that is wrong.
 */
export function checkAction(action: OwnerAction, waitingFor: "owner" | "review"): ActionCheck {
  if (!isOneOf(ALL_ACTIONS, action.action))
    return { ok: false, field: "action", message: `action must be one of ${ALL_ACTIONS.join(", ")}` };
  if (typeof action.by !== "string" || action.by.trim() === "")
    return { ok: false, field: "by", message: "by must name who acted" };
  if (!isOneOf(ACTION_SOURCES, action.via))
    return { ok: false, field: "via", message: `via must be one of ${ACTION_SOURCES.join(", ")}` };
  const allowed: readonly string[] = waitingFor === "owner" ? OWNER_ACTIONS : REVIEW_ACTIONS;
  if (!allowed.includes(action.action))
    return {
      ok: false,
      field: "action",
      message: `the lead waits for ${waitingFor === "owner" ? "its owner" : "review"}: the action must be one of ${allowed.join(", ")}`,
    };
  if (action.action === "decline" && !isOneOf(DECLINE_REASONS, action.reason))
    return {
      ok: false,
      field: "reason",
      message: `decline needs a reason: one of ${DECLINE_REASONS.join(", ")}`,
    };
  if (action.action === "route" && !action.to)
    return { ok: false, field: "to", message: "route needs the owner id to route to" };
  const clean: OwnerAction = {
    action: action.action,
    by: action.by.trim(),
    via: action.via,
    ...(action.reason !== undefined ? { reason: action.reason } : {}),
    ...(action.to !== undefined && action.to !== "" ? { to: action.to } : {}),
  };
  return { ok: true, action: clean };
}

/** Whether an interrupt's value is one of ours (a wait for an owner or a reviewer). */
export function isOwnerWait(value: unknown): value is OwnerWait {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Partial<OwnerWait>;
  return (v.kind === "owner" || v.kind === "review") && typeof v.round === "number";
}

// ---------------------------------------------------------------- waits

/** The wait a lead is in: whom it waits for, since when, and until when its SLA runs. */
export interface WaitState extends OwnerWait {
  /** ISO time the holder was told, or their hours start when that is later. */
  since: string;
  /** ISO time the SLA runs out; absent without an SLA, or once the SLA has done what it does. */
  deadline?: string;
  /** The SLA in words, for the explanation. */
  sla?: string;
}

/** What a wait is worked out from: these fields of the lead's state (domain/snapshot.ts's LeadStateValues). */
interface WaitInput {
  leadId: string;
  route: Route | undefined;
  notifications: NotificationRecord[];
  ownership: Ownership | undefined;
  receivedAt: string;
}

/**
 * The lead's current wait, from its state alone (so every pass over the same checkpoint sees the same wait):
 * the holder's clock starts at their latest message, or when their working hours start if that is later,
 * and the SLA of their rule or pool (counted in their working hours) sets the deadline.
 */
export function currentWait(
  state: WaitInput,
  routing: RoutingConfig,
  kind: "owner" | "review" = "owner",
): WaitState {
  const ownership = state.ownership;
  const round = ownership?.round ?? 0;
  const ownerId = kind === "owner" ? (state.route?.ownerId ?? null) : null;
  const told = state.notifications.filter((n) => (ownerId ? n.ownerId === ownerId : true)).map((n) => n.at);
  const starts = [told.sort().at(-1) ?? state.receivedAt];
  if (kind === "owner" && state.route?.availableFrom) starts.push(state.route.availableFrom);
  const since = starts.sort().at(-1) as string;
  const wait: WaitState = { kind, leadId: state.leadId, round, ownerId, since };
  if (ownership?.slaDone) return wait;
  const sla =
    kind === "owner" ? ownerSla(state.route, routing) : queueSla(reviewQueueOf(state, routing), routing);
  if (!sla) return wait;
  const owner = ownerId ? routing.owners.find((o) => o.id === ownerId) : undefined;
  wait.deadline = slaDeadline(new Date(since), sla, owner?.hours ? owner : undefined).toISOString();
  wait.sla = describeSla(sla);
  return wait;
}

/** The review queue a lead waits in: its own queue when that is a review queue, else the first one. */
export function reviewQueueOf(state: Pick<WaitInput, "route">, routing: RoutingConfig): string | undefined {
  const own = routing.queues.find((q) => q.id === state.route?.queue && q.path === "review");
  return (own ?? routing.queues.find((q) => q.path === "review"))?.id;
}

/** Owners who already had the lead: never offered it again by a re-route. */
export function ownersWhoHadIt(ownership: Ownership | undefined, current: string | undefined): string[] {
  const had = new Set<string>();
  for (const h of ownership?.handoffs ?? []) if (h.from) had.add(h.from);
  if (current) had.add(current);
  return [...had];
}

/** Hand-offs an SLA or an owner made by passing the lead on (what `maxReassignments` counts). */
export function reassignmentsOf(
  ownership: Ownership | undefined,
  kinds: Handoff["kind"][] = ["sla"],
): number {
  return (ownership?.handoffs ?? []).filter((h) => kinds.includes(h.kind)).length;
}

/**
 * The ownership after a hand-over that ends wait `round`: `to` holds the lead ("reassigned": they are told
 * next, then waited for), and the hand-off joins the history.
 */
export function handedOver(ownership: Ownership, to: string, handoff: Handoff, round: number): Ownership {
  return {
    ...ownership,
    ownerId: to,
    status: "reassigned",
    handoffs: [...ownership.handoffs, handoff],
    round: round + 1,
  };
}
