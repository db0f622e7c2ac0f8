/**
 * The short note an owner gets when a person they already have comes back (sticky ownership): posted in the
 * thread of that person's earlier lead, so the history reads as one conversation instead of a second DM.
 */
import { ownerActions } from "./message-actions.ts";
import { escapeMrkdwn, type MessageBody, SLACK_LIMITS, truncate } from "./owner-message.ts";
import type { RoutingConfig } from "./routing/schema.ts";
import { type LeadSnapshot, requireLead } from "./snapshot.ts";

const mrkdwn = (text: string, max: number = SLACK_LIMITS.sectionText) => ({
  type: "mrkdwn",
  text: truncate(text, max),
});

/** The note, with the owner's buttons: a returning lead waits for its owner's Accept like any other. */
export function buildReturningMessage(state: LeadSnapshot, routing?: RoutingConfig): MessageBody {
  const lead = requireLead(state, "notifyOwner");
  const previous = state.route?.previous;
  const person = lead.fullName ?? ([lead.firstName, lead.lastName].filter(Boolean).join(" ") || lead.email);
  const company = state.enrichment?.values.companyName ?? lead.company ?? lead.companyDomain;
  const who = [person, lead.title, company].filter(Boolean).join(", ");
  const how = lead.form ? `filled in "${lead.form}"` : `came back through ${lead.source}`;
  const score = state.score ? `score ${state.score.value} (${state.score.tier})` : "not scored";
  const since = previous ? ` Yours since their lead of ${previous.routedAt.slice(0, 10)}.` : "";
  const text = `🔁 Returning lead: ${who} ${how}, ${score}.${since}`;
  const lines = [`🔁 *Returning lead*: ${escapeMrkdwn(who)} ${escapeMrkdwn(how)}, ${score}.${since}`];
  if (lead.message) lines.push(`> ${escapeMrkdwn(truncate(lead.message.replace(/\s+/g, " "), 500))}`);
  if (state.path === "review") lines.push("⚠️ The rules could not decide this lead: check the fit first.");
  return {
    text: truncate(text, SLACK_LIMITS.sectionText),
    blocks: [
      { type: "section", text: mrkdwn(lines.join("\n")) },
      ownerActions(state.leadId, state.route?.ownerId, routing),
      {
        type: "context",
        elements: [
          mrkdwn(
            `Lead \`${state.leadId}\` · rule \`${state.route?.ruleName ?? "n/a"}\` · source ${escapeMrkdwn(lead.source)}`,
          ),
        ],
      },
    ],
  };
}
