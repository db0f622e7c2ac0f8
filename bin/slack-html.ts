/**
 * An HTML approximation of how Slack renders a Block Kit message (header, sections with fields, context,
 * dividers, buttons and menus), for the README's picture (bin/slack-message-picture.ts). Not Slack's CSS:
 * close enough for a reader to see what an AE gets.
 */
import type { MessageBody } from "../domain/owner-message.ts";

type Block = Record<string, unknown>;
type Text = { type?: string; text?: string };

const textOf = (value: unknown): string => (value as Text | undefined)?.text ?? "";

/** Plain text for HTML: Slack's plain_text is not escaped the way mrkdwn is. */
function html(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/**
 * mrkdwn to HTML. Lead text in our mrkdwn is already entity-escaped (escapeMrkdwn), so the only raw `<` are
 * Slack's own tokens: links, mentions and dates.
 */
export interface SlackView {
  /** Slack user id → display name, for mentions. */
  users?: Record<string, string>;
  /** The reader's time zone, for Slack's date tokens. */
  timeZone?: string;
}

export function mrkdwnToHtml(text: string, view: SlackView = {}): string {
  const time = new Intl.DateTimeFormat("en-US", {
    hour: "numeric",
    minute: "2-digit",
    ...(view.timeZone ? { timeZone: view.timeZone } : {}),
  });
  return text
    .replace(
      /<(mailto:|tel:|https?:\/\/)([^|>]*)\|([^>]*)>/g,
      (_m, scheme: string, rest: string, words: string) => {
        return `<a href="${scheme}${rest.replaceAll('"', "%22")}">${words}</a>`;
      },
    )
    .replace(
      /<@([A-Z0-9]+)>/g,
      (_m, id: string) => `<span class="mention">@${html(view.users?.[id] ?? id)}</span>`,
    )
    .replace(/<!date\^(\d+)\^[^|>]*\|[^>]*>/g, (_m, unix: string) =>
      time.format(new Date(Number(unix) * 1000)),
    )
    .replace(/`([^`\n]+)`/g, "<code>$1</code>")
    .replace(/(^|[\s(])\*([^*\n]+)\*/g, "$1<b>$2</b>")
    .replace(/(^|[\s(])_([^_\n]+)_/g, "$1<i>$2</i>")
    .replace(/^&gt; (.*)$/gm, '<span class="quote">$1</span>')
    .replaceAll("\n", "<br>");
}

function element(e: Block): string {
  if (e.type === "button")
    return `<span class="button${e.style === "primary" ? " primary" : ""}">${html(textOf(e.text))}</span>`;
  if (e.type === "static_select" || e.type === "users_select" || e.type === "overflow")
    return `<span class="button select">${html(textOf(e.placeholder))} <span class="caret">▾</span></span>`;
  return "";
}

function block(b: Block, view: SlackView): string {
  switch (b.type) {
    case "header":
      return `<div class="header">${html(textOf(b.text))}</div>`;
    case "divider":
      return `<hr>`;
    case "context":
      return `<div class="context">${((b.elements as Block[]) ?? []).map((e) => mrkdwnToHtml(textOf(e), view)).join(" ")}</div>`;
    case "actions":
      return `<div class="actions">${((b.elements as Block[]) ?? []).map(element).join("")}</div>`;
    default: {
      const fields = (b.fields as Block[] | undefined) ?? [];
      const text = b.text ? `<div>${mrkdwnToHtml(textOf(b.text), view)}</div>` : "";
      const grid = fields.length
        ? `<div class="fields">${fields.map((f) => `<div>${mrkdwnToHtml(textOf(f), view)}</div>`).join("")}</div>`
        : "";
      return `<div class="section">${text}${grid}</div>`;
    }
  }
}

const CSS = `
body { margin: 0; background: #fff; font: 15px/1.46668 Lato, "Helvetica Neue", Helvetica, Arial, sans-serif; color: #1d1c1d; }
main { padding: 12px 20px 16px; width: 720px; }
.label { font-size: 12px; color: #616061; text-transform: uppercase; letter-spacing: .04em; margin: 14px 0 4px 56px; }
.message { display: flex; gap: 8px; padding: 8px 0; }
.avatar { width: 36px; height: 36px; border-radius: 6px; background: #2eb67d; color: #fff; font-weight: 900;
  display: flex; align-items: center; justify-content: center; flex: none; margin-right: 4px; }
.meta b { font-weight: 900; } .meta .app { font-size: 10px; background: #e8e8e8; color: #616061; border-radius: 3px;
  padding: 1px 3px; margin: 0 4px; font-weight: 700; } .meta .time { color: #616061; font-size: 12px; }
.header { font-size: 18px; font-weight: 900; margin: 6px 0 4px; }
.section { margin: 6px 0; } .fields { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 16px; }
.context { font-size: 12px; color: #616061; margin: 6px 0; }
.actions { display: flex; flex-wrap: wrap; gap: 8px; margin: 10px 0 4px; }
.button { border: 1px solid #bbbabb; border-radius: 4px; padding: 3px 12px; font-size: 14px; font-weight: 700; background: #fff; }
.button.primary { background: #007a5a; border-color: #007a5a; color: #fff; }
.button.select { font-weight: 400; color: #454245; } .caret { font-size: 11px; margin-left: 6px; }
a { color: #1264a3; text-decoration: none; } code { font: 12px Monaco, Menlo, monospace; color: #e01e5a;
  background: #f8f8f8; border: 1px solid #e8e8e8; border-radius: 3px; padding: 1px 3px; }
.mention { color: #1264a3; background: #e8f5fa; border-radius: 3px; padding: 0 2px; }
.quote { border-left: 4px solid #ddd; padding-left: 8px; display: inline-block; color: #454245; }
hr { border: none; border-top: 1px solid #e8e8e8; margin: 8px 0; }
`;

/** A page showing `messages` one under the other, each as a bot's message; labels name the states shown. */
export function renderSlackHtml(
  messages: MessageBody[],
  options: { bot: string; time: string; labels?: string[] } & SlackView,
): string {
  const labels = options.labels ?? ["The owner's DM", "After Accept (updated in place)"];
  const items = messages
    .map(
      (m, i) => `<div class="label">${html(labels[i] ?? "")}</div>
<div class="message"><div class="avatar">LG</div><div class="body">
<div class="meta"><b>${html(options.bot)}</b><span class="app">APP</span><span class="time">${html(options.time)}</span></div>
${m.blocks.map((b) => block(b, options)).join("\n")}
</div></div>`,
    )
    .join("\n");
  return `<!doctype html><html><head><meta charset="utf-8"><style>${CSS}</style></head><body><main>${items}</main></body></html>`;
}
