/** Slack interaction requests as Slack sends them: a `block_actions` payload, form-encoded and signed. */
import { slackSignature } from "../../http/signatures.ts";

export interface ClickedElement {
  action_id: string;
  value?: string;
  selected_option?: { value: string };
}

/** The form body of a click on `element` by `user` (U0ANNA), in a message (Slack's block_actions payload). */
export function blockActions(
  element: ClickedElement,
  message?: { channel: string; ts: string },
  user = "U0ANNA",
  responseUrl = "https://hooks.slack.com/actions/T0TEAM/1/abc",
): string {
  const payload = {
    type: "block_actions",
    user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: "T0TEAM" },
    api_app_id: "A0LEADGRAPH",
    token: "verification-token-unused",
    container: {
      type: "message",
      message_ts: message?.ts ?? "1.000001",
      channel_id: message?.channel ?? "D0ANNA",
      is_ephemeral: false,
    },
    trigger_id: "13345224609.738474920.8088930838d88f008e0",
    team: { id: "T0TEAM", domain: "example" },
    channel: { id: message?.channel ?? "D0ANNA", name: "directmessage" },
    response_url: responseUrl,
    actions: [
      {
        type: element.selected_option ? "static_select" : "button",
        block_id: "lead.actions",
        action_ts: String(Date.now() / 1000),
        ...element,
      },
    ],
  };
  return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

/** The body with Slack's headers: content type, X-Slack-Request-Timestamp, X-Slack-Signature. */
export function signedInteraction(
  secret: string,
  body: string,
  timestamp: number = Math.floor(Date.now() / 1000),
): { body: string; headers: Record<string, string> } {
  const signed = slackSignature(secret, body, timestamp);
  return {
    body,
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-slack-request-timestamp": signed.timestamp,
      "x-slack-signature": signed.signature,
    },
  };
}
