/**
 * The owner's Slack message as Block Kit: what it says and where it goes, always within Slack's limits.
 * Pure: the notifyOwner node sends it through the Notifier port.
 */
import type { RoutingConfig } from "./routing/schema.ts";
import { type LeadSnapshot, requireLead } from "./snapshot.ts";

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

const TIER_ICON = { hot: "🔥", warm: "☀️", cold: "❄️" } as const;

/** The owner's Block Kit message: header, key fields, summary, similar accounts, link; always within Slack's limits. */
export function buildOwnerMessage(state: LeadSnapshot, ownerName: string, publicUrl?: string): MessageBody {
  const lead = requireLead(state, "notifyOwner");
  const e = state.enrichment?.values ?? {};
  const company = e.companyName ?? lead.company ?? lead.companyDomain ?? "Unknown company";
  const tier = state.score?.tier ?? "warm";
  const scoreText = state.score ? `${state.score.value} (${state.score.tier})` : "n/a";
  const review = state.path === "review";
  const headline = `${TIER_ICON[tier]} ${review ? "Lead to review" : `New ${tier} lead`}: ${company}`;
  const text = `${headline}, score ${scoreText}, for ${ownerName}`;

  const person = lead.fullName ?? ([lead.firstName, lead.lastName].filter(Boolean).join(" ") || lead.email);
  const fields = [
    `*Name*\n${escapeMrkdwn(person)}`,
    `*Title*\n${escapeMrkdwn(lead.title ?? "n/a")}`,
    `*Company*\n${escapeMrkdwn(company)}`,
    `*Country*\n${lead.country ?? e.country ?? "n/a"}`,
    `*Score*\n${scoreText}`,
    `*Owner*\n${escapeMrkdwn(ownerName)} (rule \`${state.route?.ruleName ?? "n/a"}\`)`,
  ].map((f) => mrkdwn(f, SLACK_LIMITS.fieldText));

  const blocks: Block[] = [
    {
      type: "header",
      text: { type: "plain_text", text: truncate(headline, SLACK_LIMITS.headerText), emoji: true },
    },
  ];
  if (review)
    blocks.push({
      type: "context",
      elements: [mrkdwn("⚠️ The rules could not decide this lead: check the fit before reaching out.")],
    });
  blocks.push({ type: "section", fields: fields.slice(0, SLACK_LIMITS.fields) });
  const bullets = state.summary?.bullets ?? [];
  if (bullets.length > 0)
    blocks.push({ type: "section", text: mrkdwn(bullets.map((b) => `• ${escapeMrkdwn(b)}`).join("\n")) });
  if (state.similarAccounts.length > 0) {
    const lines = state.similarAccounts.map(
      (a) =>
        `• *${escapeMrkdwn(a.name)}*: ${a.outcome}, ${a.industry}, ${a.employees} employees. ${escapeMrkdwn(a.note)}`,
    );
    blocks.push(
      { type: "divider" },
      { type: "section", text: mrkdwn(`*Similar past accounts*\n${lines.join("\n")}`) },
    );
  }
  if (publicUrl)
    blocks.push({
      type: "actions",
      elements: [
        {
          type: "button",
          text: { type: "plain_text", text: "Open lead" },
          url: `${publicUrl.replace(/\/$/, "")}/admin/leads/${encodeURIComponent(state.leadId)}`,
        },
      ],
    });
  blocks.push({
    type: "context",
    elements: [mrkdwn(`Lead \`${state.leadId}\` · source ${escapeMrkdwn(lead.source)}`)],
  });
  return { text, blocks: blocks.slice(0, SLACK_LIMITS.blocks) };
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
