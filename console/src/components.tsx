/** Small shared pieces: links, loading/empty/error states, status badges, Block Kit, bar charts. */
import type { ComponentChildren } from "preact";
import { navigate } from "./router.ts";

/** An ordinary link (keyboard, new tab, copy) that navigates without a reload on a plain click. */
export function Link(props: {
  href: string;
  children: ComponentChildren;
  class?: string;
  current?: boolean;
}) {
  return (
    <a
      href={props.href}
      class={props.class}
      aria-current={props.current ? "page" : undefined}
      onClick={(event) => {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
        event.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}

export function Loading(props: { what: string }) {
  return (
    <p class="loading" role="status">
      Loading {props.what}…
    </p>
  );
}

export function Empty(props: { children: ComponentChildren }) {
  return <p class="empty">{props.children}</p>;
}

export function ErrorNote(props: { message: string }) {
  return (
    <p class="error" role="alert">
      {props.message}
    </p>
  );
}

export function StatusBadge(props: { status: string }) {
  return <span class={`badge badge-${props.status}`}>{props.status}</span>;
}

/** Slack mrkdwn, simply: links (`<url|label>`, mailto and tel), mentions, *bold*, `code`, escaped entities. */
function Mrkdwn(props: { text: string }) {
  // Links first: Slack escapes a literal < as &lt;, so every < here opens a link or a mention.
  const pieces = props.text.split(/(<[^<>\s|]+(?:\|[^<>]*)?>)/g);
  return (
    <>
      {pieces.map((piece, i) => {
        const link = /^<([^<>\s|]+)(?:\|([^<>]*))?>$/.exec(piece);
        if (!link) return <Styled key={i} text={piece} />;
        const [, target = "", label] = link;
        if (target.startsWith("@")) return <span key={i}>{target}</span>;
        if (!/^(https?:|mailto:|tel:)/.test(target)) return <Styled key={i} text={label ?? target} />;
        return (
          <a key={i} href={target} rel="noreferrer noopener" target="_blank">
            {unescaped(label ?? target.replace(/^(mailto|tel):/, ""))}
          </a>
        );
      })}
    </>
  );
}

const unescaped = (text: string) =>
  text.replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");

function Styled(props: { text: string }) {
  const parts = unescaped(props.text).split(/(\*[^*\n]+\*|`[^`\n]+`)/g);
  return (
    <>
      {parts.map((part, i) =>
        part.startsWith("*") && part.endsWith("*") && part.length > 2 ? (
          <strong key={i}>{part.slice(1, -1)}</strong>
        ) : part.startsWith("`") && part.endsWith("`") && part.length > 2 ? (
          <code key={i}>{part.slice(1, -1)}</code>
        ) : (
          <span key={i}>{part}</span>
        ),
      )}
    </>
  );
}

type Block = Record<string, unknown>;
const textOf = (value: unknown): string => (value as { text?: string } | undefined)?.text ?? "";

/** The owner's Slack message as they saw it: header, sections, fields, context, buttons. */
export function BlockKit(props: { blocks: Block[] }) {
  return (
    <div class="slack-message">
      {props.blocks.map((block, i) => {
        switch (block.type) {
          case "header":
            return (
              <h4 key={i} class="slack-header">
                {textOf(block.text)}
              </h4>
            );
          case "divider":
            return <hr key={i} />;
          case "context":
            return (
              <p key={i} class="slack-context">
                {((block.elements as unknown[]) ?? []).map((e, j) => (
                  <Mrkdwn key={j} text={textOf(e)} />
                ))}
              </p>
            );
          case "actions":
            return (
              <p key={i} class="slack-actions">
                {((block.elements as unknown[]) ?? []).map((e, j) => (
                  <span key={j} class="slack-button">
                    {textOf(
                      (e as { text?: unknown; placeholder?: unknown }).text ??
                        (e as { placeholder?: unknown }).placeholder,
                    )}
                  </span>
                ))}
              </p>
            );
          default: {
            const fields = (block.fields as unknown[] | undefined) ?? [];
            return (
              <div key={i} class="slack-section">
                {block.text ? (
                  <p class="slack-text">
                    <Mrkdwn text={textOf(block.text)} />
                  </p>
                ) : null}
                {fields.length > 0 ? (
                  <dl class="slack-fields">
                    {fields.map((f, j) => {
                      const [label = "", ...rest] = textOf(f).split("\n");
                      return (
                        <div key={j}>
                          <dt>
                            <Mrkdwn text={label} />
                          </dt>
                          <dd>
                            <Mrkdwn text={rest.join("\n")} />
                          </dd>
                        </div>
                      );
                    })}
                  </dl>
                ) : null}
              </div>
            );
          }
        }
      })}
    </div>
  );
}

export interface Bar {
  label: string;
  value: number;
  /** A second value drawn as a marker (e.g. the expected share). */
  target?: number;
  note?: string;
}

/** Horizontal bars with their numbers written out: readable without the picture, and by a screen reader. */
export function BarChart(props: { title: string; bars: Bar[]; format: (v: number) => string; max?: number }) {
  const max = props.max ?? Math.max(1e-9, ...props.bars.flatMap((b) => [b.value, b.target ?? 0]));
  if (props.bars.length === 0) return <Empty>No data for {props.title.toLowerCase()} in this period.</Empty>;
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <ul class="bars">
        {props.bars.map((bar) => (
          <li key={bar.label}>
            <span class="bar-label">{bar.label}</span>
            <span class="bar-track" aria-hidden="true">
              <span class="bar-fill" style={{ width: `${(bar.value / max) * 100}%` }} />
              {bar.target !== undefined ? (
                <span class="bar-target" style={{ left: `${(bar.target / max) * 100}%` }} />
              ) : null}
            </span>
            <span class="bar-value">
              {props.format(bar.value)}
              {bar.note ? <span class="bar-note"> {bar.note}</span> : null}
            </span>
          </li>
        ))}
      </ul>
    </figure>
  );
}
