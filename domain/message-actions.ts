/**
 * The buttons and menus of the owner's and the review queue's Slack messages, and the way back: which
 * action a Slack click names. Each element's `action_id` is namespaced (`lead.*` for the owner, `review.*`
 * for the review queue); a button's `value` is the lead id, a menu option's value `<leadId>|<choice>`.
 * Pure: http/ decodes Slack's interaction payloads with `decodeAction`.
 */
import type { RoutingConfig } from "./routing/schema.ts";

type Block = Record<string, unknown>;

export const ACTION_IDS = {
  accept: "lead.accept",
  reassign: "lead.reassign",
  reassignTo: "lead.reassign_to",
  decline: "lead.decline",
  approve: "review.approve",
  routeTo: "review.route",
  nurture: "review.nurture",
} as const;

/** Why an owner says a lead is not for them, and the words the message uses for each. */
export const DECLINE_REASON_LABELS = {
  wrong_territory: "Wrong territory",
  not_a_buyer: "Not a buyer",
  spam: "Spam",
  existing_customer: "Existing customer",
} as const;
export type DeclineReasonId = keyof typeof DECLINE_REASON_LABELS;

/** What a click asks for, before anyone knows who clicked (`by`) or through what (`via`). */
export type DecodedAction =
  | { leadId: string; action: "accept" | "reassign" | "approve" | "nurture" }
  | { leadId: string; action: "reassign" | "route"; to: string }
  | { leadId: string; action: "decline"; reason: DeclineReasonId };

/** One element of a Slack `block_actions` payload, as much of it as we read. */
export interface SlackActionElement {
  action_id?: unknown;
  value?: unknown;
  selected_option?: { value?: unknown } | null;
}

/** Slack's limits for the elements built here. */
const OPTION_TEXT_MAX = 75;
const OPTIONS_MAX = 100;

const plain = (text: string) => ({
  type: "plain_text",
  text: text.length <= OPTION_TEXT_MAX ? text : `${text.slice(0, OPTION_TEXT_MAX - 1)}…`,
  emoji: true,
});

function option(text: string, value: string) {
  return { text: plain(text), value };
}

function choiceOf(value: unknown): { leadId: string; choice: string } | null {
  if (typeof value !== "string") return null;
  // Lead ids are UUIDs (no "|"); the choice is everything after the first bar.
  const bar = value.indexOf("|");
  if (bar <= 0 || bar === value.length - 1) return null;
  return { leadId: value.slice(0, bar), choice: value.slice(bar + 1) };
}

function isDeclineReason(value: string): value is DeclineReasonId {
  return Object.hasOwn(DECLINE_REASON_LABELS, value);
}

/** The action a Slack element asks for; null for an element that is not ours or is malformed. */
export function decodeAction(element: SlackActionElement): DecodedAction | null {
  const id = element.action_id;
  const leadId = typeof element.value === "string" && element.value.length > 0 ? element.value : undefined;
  switch (id) {
    case ACTION_IDS.accept:
      return leadId ? { leadId, action: "accept" } : null;
    case ACTION_IDS.reassign:
      return leadId ? { leadId, action: "reassign" } : null;
    case ACTION_IDS.approve:
      return leadId ? { leadId, action: "approve" } : null;
    case ACTION_IDS.nurture:
      return leadId ? { leadId, action: "nurture" } : null;
    case ACTION_IDS.reassignTo:
    case ACTION_IDS.routeTo: {
      const picked = choiceOf(element.selected_option?.value);
      if (!picked) return null;
      const action = id === ACTION_IDS.reassignTo ? "reassign" : "route";
      return { leadId: picked.leadId, action, to: picked.choice };
    }
    case ACTION_IDS.decline: {
      const picked = choiceOf(element.selected_option?.value);
      if (!picked || !isDeclineReason(picked.choice)) return null;
      return { leadId: picked.leadId, action: "decline", reason: picked.choice };
    }
    default:
      return null;
  }
}

/** Active owners other than `except`, as menu options (at most Slack's 100). */
function ownerOptions(leadId: string, routing: RoutingConfig | undefined, except?: string) {
  return (routing?.owners ?? [])
    .filter((o) => o.active && o.id !== except)
    .slice(0, OPTIONS_MAX)
    .map((o) => option(o.name, `${leadId}|${o.id}`));
}

/** Accept · Reassign · Reassign to… · Not a fit…: the owner's actions block. */
export function ownerActions(leadId: string, ownerId: string | undefined, routing?: RoutingConfig): Block {
  const owners = ownerOptions(leadId, routing, ownerId);
  const elements: Block[] = [
    { type: "button", action_id: ACTION_IDS.accept, text: plain("Accept"), style: "primary", value: leadId },
    { type: "button", action_id: ACTION_IDS.reassign, text: plain("Reassign"), value: leadId },
  ];
  if (owners.length > 0)
    elements.push({
      type: "static_select",
      action_id: ACTION_IDS.reassignTo,
      placeholder: plain("Reassign to…"),
      options: owners,
    });
  elements.push({
    type: "static_select",
    action_id: ACTION_IDS.decline,
    placeholder: plain("Not a fit…"),
    options: Object.entries(DECLINE_REASON_LABELS).map(([id, text]) => option(text, `${leadId}|${id}`)),
    confirm: {
      title: plain("Not a fit?"),
      text: {
        type: "mrkdwn",
        text: "The lead leaves you and is routed on according to the reason you picked.",
      },
      confirm: plain("Yes, decline"),
      deny: plain("Keep it"),
    },
  });
  return { type: "actions", block_id: "lead.actions", elements };
}

/** Approve (to the routed owner) · Route to… · Nurture: the review queue's actions block. */
export function reviewActions(leadId: string, approveTo: string | undefined, routing?: RoutingConfig): Block {
  const elements: Block[] = [];
  if (approveTo)
    elements.push({
      type: "button",
      action_id: ACTION_IDS.approve,
      text: plain(`Approve → ${approveTo}`),
      style: "primary",
      value: leadId,
    });
  const owners = ownerOptions(leadId, routing);
  if (owners.length > 0)
    elements.push({
      type: "static_select",
      action_id: ACTION_IDS.routeTo,
      placeholder: plain("Route to…"),
      options: owners,
    });
  elements.push({ type: "button", action_id: ACTION_IDS.nurture, text: plain("Nurture"), value: leadId });
  return { type: "actions", block_id: "review.actions", elements };
}
