/**
 * The owner's Slack message as Block Kit, what it says and where it goes, always within Slack's limits: the
 * owner's DM (with Accept, Reassign and Not a fit), the review queue's message (Approve, Route to…, Nurture),
 * and either one once decided (the outcome line, no buttons). Pure: nodes send them through the Notifier port.
 *
 * Over 300 lines because the DM, the review message and the decided form share one set of block builders and Slack's limits; the buttons live in message-actions.ts and the reasons in why-yours.ts.
 */
import { DECLINE_REASON_LABELS, ownerActions, reviewActions } from "./message-actions.ts";
import type { RoutingConfig } from "./routing/schema.ts";
import { type LeadSnapshot, requireLead } from "./snapshot.ts";
import type { NormalizedLead } from "./types.ts";
import { whyYours } from "./why-yours.ts";

/** A Slack Block Kit block; kept loose on purpose (this module owns the shapes it builds). */
export type Block = Record<string, unknown>;

/** Where a message goes: the owner (DM by email, or their channel), else a queue's channel. */
export interface MessageTarget {
  ownerId?: string;
  /** Owner email, used to find the Slack user; absent for queue messages. */
  ownerEmail?: string;
  /** Channel to post to when there is no owner (a queue) or DMs are off. */
  channel?: string;
}

/** The message itself: a plain-text fallback for notifications, and the blocks. */
export interface MessageBody {
  text: string;
  blocks: Block[];
}

/** Slack's documented limits for messages we build. */
export const SLACK_LIMITS = {
  blocks: 50,
  sectionText: 3000,
  headerText: 150,
  fieldText: 2000,
  fields: 10,
} as const;

/** Lead text is untrusted: escaping &, < and > stops it from forming links or @channel mentions. */
export function escapeMrkdwn(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function mrkdwn(text: string, max: number = SLACK_LIMITS.sectionText) {
  return { type: "mrkdwn", text: truncate(text, max) };
}

const section = (text: string): Block => ({ type: "section", text: mrkdwn(text) });

const TIER_ICON = { hot: "🔥", warm: "☀️", cold: "❄️" } as const;

export interface OwnerMessageOptions {
  /** The routed owner's (or queue's) name. */
  ownerName: string;
  /** routing.json in force: the rule in words, and the owners offered by "Reassign to…" and "Route to…". */
  routing?: RoutingConfig;
  /** The contact's record in the CRM (a HubSpot contact page), or the console's lead page. */
  crmUrl?: string;
  /** The link's words; "Open in CRM" when absent. */
  crmLabel?: string;
}

/** A link whose target is ours to build and whose words are the lead's (escaped, so they cannot close it). */
function link(url: string, words: string): string {
  return `<${url.replaceAll("|", "%7C").replaceAll(">", "%3E")}|${escapeMrkdwn(words).replaceAll("|", "¦")}>`;
}

function personName(lead: NormalizedLead): string {
  return lead.fullName ?? ([lead.firstName, lead.lastName].filter(Boolean).join(" ") || lead.email);
}

function companyName(state: LeadSnapshot, lead: NormalizedLead): string {
  return state.enrichment?.values.companyName ?? lead.company ?? lead.companyDomain ?? "Unknown company";
}

/** Who, where, and how to reach them: name, title, company, email (mailto), phone (tel), CRM record. */
function contactBlock(state: LeadSnapshot, lead: NormalizedLead, options: OwnerMessageOptions): Block {
  const company = companyName(state, lead);
  const who = [`*${escapeMrkdwn(personName(lead))}*`, lead.title ? escapeMrkdwn(lead.title) : undefined]
    .filter(Boolean)
    .join(", ");
  const where = [lead.state, lead.country].filter(Boolean).join(", ");
  const domain = lead.companyDomain && lead.companyDomain !== company ? ` (${lead.companyDomain})` : "";
  const reach = [`✉️ ${link(`mailto:${lead.email}`, lead.email)}`];
  if (lead.phone) reach.push(`📞 ${link(`tel:${lead.phone}`, lead.phone)}`);
  if (options.crmUrl) reach.push(`🗂️ ${link(options.crmUrl, options.crmLabel ?? "Open in CRM")}`);
  const lines = [
    `${who} at *${escapeMrkdwn(company)}*${escapeMrkdwn(domain)}${where ? ` · ${where}` : ""}`,
    reach.join("   "),
  ];
  return section(lines.join("\n"));
}

/** Score and the three reasons that weighed most (by points, either sign), the model's first reason after them. */
function scoreLines(state: LeadSnapshot): string[] {
  const score = state.score;
  if (!score) return [];
  const top = [...score.reasons]
    .sort((a, b) => Math.abs(b.points) - Math.abs(a.points))
    .slice(0, 3)
    // Reason texts carry their points already ("2,600 employees (+20)").
    .map((r) => `• ${escapeMrkdwn(r.text)}`);
  const llm = score.llm?.reasons[0];
  if (llm && score.llm?.adjustment)
    top.push(`• ${escapeMrkdwn(llm)} (AI ${score.llm.adjustment > 0 ? "+" : ""}${score.llm.adjustment})`);
  return [`*Score ${score.value}* (${score.tier})`, ...top];
}

/** Template bullets the message already shows in its own blocks; an LLM summary is shown whole. */
const SHOWN_ELSEWHERE = ["Who:", "Score ", "Routed by", "Similar accounts", "Next step"];

function summaryLines(state: LeadSnapshot): string[] {
  const summary = state.summary;
  if (!summary) return [];
  const bullets =
    summary.generatedBy === "template"
      ? summary.bullets.filter((b) => !SHOWN_ELSEWHERE.some((p) => b.startsWith(p)))
      : summary.bullets;
  return bullets.map((b) => `• ${escapeMrkdwn(b)}`);
}

/** Similar past accounts, once, one line each. */
function similarBlock(state: LeadSnapshot): Block | undefined {
  if (state.similarAccounts.length === 0) return undefined;
  const lines = state.similarAccounts.map(
    (a) =>
      `• *${escapeMrkdwn(a.name)}* (${a.outcome}, ${a.industry}, ${a.employees.toLocaleString("en-US")} employees): ${escapeMrkdwn(a.note)}`,
  );
  return section(`*Similar past accounts*\n${lines.join("\n")}`);
}

/** What the reader should do next, addressed to them. */
export function nextStepForReader(state: LeadSnapshot): string {
  const lead = state.lead;
  const first = lead ? escapeMrkdwn(lead.firstName ?? personName(lead)) : "them";
  if (state.path === "review")
    return `Check the fit before reaching out: the rules could not settle this lead.`;
  if ((lead?.form ?? "").toLowerCase().includes("demo"))
    return `Book the demo with ${first} within one business day: they asked for one.`;
  if (state.score?.tier === "hot")
    return `Call ${first} within one business day${lead?.phone ? "" : " (no phone given: email first)"}.`;
  return `Send ${first} a tailored intro email this week.`;
}

/** Everything the owner and the reviewers read, without actions: header, contact, why, score, brief, similar. */
function leadBlocks(state: LeadSnapshot, options: OwnerMessageOptions, headline: string): Block[] {
  const lead = requireLead(state, "notifyOwner");
  const company = companyName(state, lead);
  const blocks: Block[] = [
    {
      type: "header",
      text: { type: "plain_text", text: truncate(headline, SLACK_LIMITS.headerText), emoji: true },
    },
    contactBlock(state, lead, options),
  ];
  const why = whyYours(state.route, options.routing, lead, company);
  const score = scoreLines(state);
  blocks.push(
    section(
      [
        state.path === "review" ? `*Routing*: ${escapeMrkdwn(why)}` : `*Why you*: ${escapeMrkdwn(why)}`,
        ...score,
      ].join("\n"),
    ),
  );
  const brief = summaryLines(state);
  if (brief.length > 0) blocks.push(section(brief.join("\n")));
  const similar = similarBlock(state);
  if (similar) blocks.push(similar);
  return blocks;
}

function footer(state: LeadSnapshot): Block {
  const source = state.lead?.source ?? "unknown";
  return {
    type: "context",
    elements: [
      mrkdwn(
        `Lead \`${state.leadId}\` · rule \`${state.route?.ruleName ?? "n/a"}\` · source ${escapeMrkdwn(source)}`,
      ),
    ],
  };
}

function headlineOf(state: LeadSnapshot, company: string, review: boolean): string {
  const tier = state.score?.tier ?? "warm";
  return `${TIER_ICON[tier]} ${review ? "Lead to review" : `New ${tier} lead`}: ${company}`;
}

function fallbackText(state: LeadSnapshot, headline: string, ownerName: string): string {
  const score = state.score ? `${state.score.value} (${state.score.tier})` : "n/a";
  return `${headline}, score ${score}, for ${ownerName}`;
}

/** The owner's DM: what they need at a glance, a next step, and Accept / Reassign / Not a fit. */
export function buildOwnerMessage(state: LeadSnapshot, options: OwnerMessageOptions): MessageBody {
  const lead = requireLead(state, "notifyOwner");
  const headline = headlineOf(state, companyName(state, lead), state.path === "review");
  const blocks = leadBlocks(state, options, headline);
  if (state.path === "review")
    blocks.splice(1, 0, {
      type: "context",
      elements: [mrkdwn("⚠️ The rules could not decide this lead: check the fit before reaching out.")],
    });
  blocks.push(section(`👉 *Next step*: ${nextStepForReader(state)}`));
  blocks.push(ownerActions(state.leadId, state.route?.ownerId, options.routing), footer(state));
  return {
    text: fallbackText(state, headline, options.ownerName),
    blocks: blocks.slice(0, SLACK_LIMITS.blocks),
  };
}

/** Why a lead waits for review, in words. */
function reviewReason(state: LeadSnapshot): string {
  if (state.route?.kind === "fallback") return "No routing rule matched this lead.";
  if (state.score?.greyZone)
    return `Score ${state.score.value} is in the grey zone: the rules could not settle the fit.`;
  return "The rules could not decide this lead.";
}

/**
 * The review queue's message for grey-zone and fallback leads: the same facts, why it waits, and Approve (to
 * `options.ownerName`, the routed owner, when there is one) · Route to… · Nurture.
 */
export function buildReviewMessage(state: LeadSnapshot, options: OwnerMessageOptions): MessageBody {
  const lead = requireLead(state, "reviewLead");
  const headline = headlineOf(state, companyName(state, lead), true);
  const blocks = leadBlocks(state, options, headline);
  blocks.splice(1, 0, { type: "context", elements: [mrkdwn(`⚠️ ${reviewReason(state)}`)] });
  const approveTo = state.route?.ownerId ? options.ownerName : undefined;
  blocks.push(
    section(
      `👉 *Next step*: check the fit, then ${approveTo ? `approve it to ${escapeMrkdwn(approveTo)}, ` : ""}route it to someone, or send it to nurture.`,
    ),
    reviewActions(state.leadId, approveTo, options.routing),
    footer(state),
  );
  return {
    text: fallbackText(state, headline, options.ownerName),
    blocks: blocks.slice(0, SLACK_LIMITS.blocks),
  };
}

// ---------------------------------------------------------------- decided

/**
 * What was decided, for the message's outcome line. A `Handoff` (domain/ownership.ts) is one as it is; an
 * acceptance or a review decision is `{kind, by, at}`.
 * - `by`: a Slack user id (shown as a mention), an owner id (shown by name), or "timer"/"sla" (not shown).
 * - `to`: the owner id (or queue id) the lead went to; null when nobody got it (nurture, disqualified).
 */
export interface DecidedOutcome {
  kind: "accept" | "reassign" | "decline" | "sla" | "escalate" | "review" | "approve" | "route" | "nurture";
  by: string;
  /** ISO time of the decision. */
  at: string;
  to?: string | null;
  /** How long the lead waited for this decision. */
  afterMs?: number;
  /** A decline reason id (`wrong_territory`, …) or words. */
  reason?: string;
  via?: "slack" | "admin" | "cli" | "timer";
}

/** 900_000 → "15 min", 5_400_000 → "1 h 30 min", 40_000 → "40 s". */
export function waitedFor(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h < 48 ? `${h} h${m ? ` ${m} min` : ""}` : `${Math.round(h / 24)} days`;
}

const SLACK_USER = /^[UW][A-Z0-9]+$/;
const MACHINE = new Set(["timer", "sla", "sla-timer", "system"]);

function nameOf(id: string, routing: RoutingConfig | undefined): string {
  return (
    routing?.owners.find((o) => o.id === id)?.name ?? routing?.queues.find((q) => q.id === id)?.name ?? id
  );
}

function byText(by: string, routing: RoutingConfig | undefined): string {
  if (SLACK_USER.test(by)) return `<@${by}>`;
  return escapeMrkdwn(nameOf(by, routing));
}

/** "at 10:42" in the reader's own time zone (Slack's date token), with a UTC fallback. */
function atText(iso: string): string {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return "";
  const utc = new Date(ms).toISOString().slice(11, 16);
  return `at <!date^${Math.floor(ms / 1000)}^{time}|${utc} UTC>`;
}

function reasonText(reason: string | undefined): string {
  if (!reason) return "";
  const known = (DECLINE_REASON_LABELS as Record<string, string>)[reason];
  return escapeMrkdwn(known ? known.toLowerCase() : reason);
}

/** The outcome as one line: "✅ Accepted by <@U123> at 10:42", "⏰ Reassigned to Jane Doe after 15 min (SLA)". */
export function outcomeLine(outcome: DecidedOutcome, routing?: RoutingConfig): string {
  const machine = MACHINE.has(outcome.by) || outcome.via === "timer";
  const by = machine ? "" : ` by ${byText(outcome.by, routing)}`;
  const at = atText(outcome.at);
  const when = at ? ` ${at}` : "";
  const after = outcome.afterMs !== undefined ? ` after ${waitedFor(outcome.afterMs)}` : "";
  const to = outcome.to ? escapeMrkdwn(nameOf(outcome.to, routing)) : undefined;
  switch (outcome.kind) {
    case "accept":
      return `✅ Accepted${by}${when}${after}`;
    case "reassign":
      return machine
        ? `⏰ Reassigned${to ? ` to ${to}` : ""}${after} (SLA)`
        : `↪️ Reassigned${to ? ` to ${to}` : ""}${by}${when}`;
    case "sla":
      return `⏰ Reassigned${to ? ` to ${to}` : ""}${after} (SLA)`;
    case "escalate":
      return `📣 Escalated${to ? ` to ${to}` : ""}${after} without an answer (SLA)`;
    case "decline": {
      const reason = reasonText(outcome.reason);
      const next = to
        ? `re-routed to ${to}`
        : outcome.reason === "spam"
          ? "disqualified"
          : outcome.reason === "not_a_buyer"
            ? "sent to nurture"
            : "routed on";
      return `🚫 Declined${reason ? `: ${reason}` : ""} — ${next}${by ? ` (${by.slice(1)}${when})` : ""}`;
    }
    case "approve":
    case "review":
      return `✅ Approved${by}${when}${to ? ` — sent to ${to}` : ""}`;
    case "route":
      return `➡️ Routed${to ? ` to ${to}` : ""}${by}${when}`;
    case "nurture":
      return `🌱 Sent to nurture${by}${when}`;
  }
}

/**
 * A decided message: the lead's facts as before, the outcome line where the next step and the buttons were,
 * and nothing left to click. `state.path === "review"` renders the review queue's message, else the owner's.
 */
export function buildDecidedMessage(
  state: LeadSnapshot,
  outcome: DecidedOutcome,
  options: OwnerMessageOptions,
): MessageBody {
  const lead = requireLead(state, "decided");
  const headline = headlineOf(state, companyName(state, lead), state.path === "review");
  const line = outcomeLine(outcome, options.routing);
  const blocks = [...leadBlocks(state, options, headline), section(line), footer(state)];
  const plainLine = line.replace(/<@([A-Z0-9]+)>/g, "@$1").replace(/<!date\^\d+\^\{time\}\|([^>]*)>/g, "$1");
  return {
    text: truncate(`${plainLine}: ${headline}`, SLACK_LIMITS.sectionText),
    blocks: blocks.slice(0, SLACK_LIMITS.blocks),
  };
}

/** Where the message goes: the owner (DM by email), else the queue's channel. */
export function messageTarget(state: LeadSnapshot, routing: RoutingConfig): MessageTarget {
  const owner = routing.owners.find((o) => o.id === state.route?.ownerId);
  if (owner)
    return {
      ownerId: owner.id,
      ownerEmail: owner.email,
      ...(owner.slackChannel ? { channel: owner.slackChannel } : {}),
    };
  const queue = routing.queues.find((q) => q.id === state.route?.queue);
  return queue?.channel ? { channel: queue.channel } : {};
}

/** Where the review message goes: the first review queue with a channel (routing.json `queues`). */
export function reviewTarget(state: LeadSnapshot, routing: RoutingConfig): MessageTarget {
  const own = routing.queues.find((q) => q.id === state.route?.queue && q.path === "review" && q.channel);
  const queue = own ?? routing.queues.find((q) => q.path === "review" && q.channel);
  return queue?.channel ? { channel: queue.channel } : {};
}
