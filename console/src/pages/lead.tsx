/**
 * One lead: what happened and why. The timeline with durations, the score and its reasons, the route
 * explanation rule by rule, the owner's message as they saw it, the error with its root cause, and for
 * admins retry and the decision a waiting lead needs (./decision.tsx).
 */
import { useCallback, useEffect, useState } from "preact/hooks";
import { api, errorText, type LeadView, type Session } from "../api.ts";
import { BlockKit, ErrorNote, Link, Loading, StatusBadge } from "../components.tsx";
import { duration, time } from "../format.ts";
import { type ActionBody, DecisionPanel, waitsForDecision } from "./decision.tsx";

/** How long the page follows a lead after an action, waiting for the queue to apply it. */
const FOLLOW_ACTION_MS = 30_000;

export function LeadPage(props: { session: Session; leadId: string }) {
  const [lead, setLead] = useState<LeadView | null>(null);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const [busy, setBusy] = useState(false);
  /** An action sent for this wait round, followed until the queue applies it (or FOLLOW_ACTION_MS pass). */
  const [pending, setPending] = useState<{ round: number; until: number } | null>(null);
  const admin = props.session.role === "admin";

  const load = useCallback(() => {
    api<LeadView>(`/admin/leads/${encodeURIComponent(props.leadId)}`).then(setLead, (err) =>
      setError(errorText(err)),
    );
  }, [props.leadId]);
  useEffect(() => {
    setLead(null);
    setError("");
    load();
  }, [load]);
  // While the lead is moving, or an action on it waits for the queue, follow it.
  const actionPending =
    pending !== null &&
    lead !== null &&
    waitsForDecision(lead) &&
    (lead.ownership.round ?? 0) === pending.round;
  useEffect(() => {
    if (!lead) return;
    const moving = lead.status === "queued" || lead.status === "running";
    if (!moving && !actionPending) return;
    const timer = setTimeout(
      () => {
        if (pending && Date.now() >= pending.until) setPending(null);
        else load();
      },
      moving ? 1500 : 750,
    );
    return () => clearTimeout(timer);
  }, [lead, load, pending, actionPending]);

  /** Sends an admin request; true when it was taken. */
  const act = async (path: string, body: unknown, done: string): Promise<boolean> => {
    setBusy(true);
    setNotice("");
    setError("");
    try {
      await api(path, { method: "POST", body });
      setNotice(done);
      load();
      return true;
    } catch (err) {
      setError(errorText(err));
      return false;
    } finally {
      setBusy(false);
    }
  };

  if (!lead) return error ? <ErrorNote message={error} /> : <Loading what="the lead" />;
  const result = lead.result ?? {};
  const base = `/admin/leads/${encodeURIComponent(lead.leadId)}`;
  return (
    <article class="lead">
      <p>
        <Link href="/console/leads">← Leads</Link>
      </p>
      <h1>
        {lead.company ?? lead.domain ?? "Lead"} <StatusBadge status={lead.status} />
      </h1>
      <dl class="facts">
        <div>
          <dt>Email</dt>
          <dd>{lead.email ?? "—"}</dd>
        </div>
        <div>
          <dt>Domain</dt>
          <dd>{lead.domain ?? "—"}</dd>
        </div>
        <div>
          <dt>Owner</dt>
          <dd>{result.owner ?? lead.ownerId ?? "—"}</dd>
        </div>
        <div>
          <dt>Path</dt>
          <dd>{lead.path ?? result.path ?? "—"}</dd>
        </div>
        <div>
          <dt>Received</dt>
          <dd>{time(lead.receivedAt)}</dd>
        </div>
        <div>
          <dt>Owner notified</dt>
          <dd>
            {lead.notifiedAt
              ? `${time(lead.notifiedAt)} (${duration(Date.parse(lead.notifiedAt) - Date.parse(lead.receivedAt))} after the webhook)`
              : "—"}
          </dd>
        </div>
        <div>
          <dt>Attempts</dt>
          <dd>{lead.attempts}</dd>
        </div>
        <div>
          <dt>Lead id</dt>
          <dd>
            <code>{lead.leadId}</code>
          </dd>
        </div>
      </dl>
      {notice ? (
        <p class="notice" role="status">
          {notice}
        </p>
      ) : null}
      {error ? <ErrorNote message={error} /> : null}

      {lead.lastError ? (
        <section class={lead.status === "failed" ? "failure" : "failure past"} aria-labelledby="h-error">
          <h2 id="h-error">
            {lead.status === "failed" ? "Why it failed" : "Last failure (since recovered)"}
          </h2>
          <p>
            {lead.lastError.node ? (
              <>
                In <code>{lead.lastError.node}</code> at {time(lead.lastError.at)}:{" "}
              </>
            ) : null}
            {lead.lastError.message}
          </p>
          {lead.lastError.cause ? (
            <p>
              Root cause: <strong>{lead.lastError.cause}</strong>
            </p>
          ) : null}
          {lead.status === "failed" ? (
            admin ? (
              <button
                type="button"
                disabled={busy}
                onClick={() =>
                  act(`${base}/retry`, undefined, "Retry queued: the lead resumes at the step that failed.")
                }
              >
                Retry from {lead.lastError.node ?? "the failed step"}
              </button>
            ) : (
              <p class="muted">Only an admin can retry this lead.</p>
            )
          ) : null}
        </section>
      ) : null}

      {admin && waitsForDecision(lead) ? (
        <DecisionPanel
          lead={lead}
          busy={busy || actionPending}
          onAct={(body: ActionBody, done: string) => {
            const round = lead.ownership.round ?? 0;
            void act(`${base}/actions`, body, done).then((ok) => {
              if (ok) setPending({ round, until: Date.now() + FOLLOW_ACTION_MS });
            });
          }}
        />
      ) : null}

      <section aria-labelledby="h-score">
        <h2 id="h-score">Score</h2>
        {result.score !== undefined ? (
          <>
            <p>
              <strong>{result.score}</strong> ({result.tier}); rules alone gave {result.ruleScore}
              {result.llm ? `, the LLM (${result.llm.model}) moved it by ${result.llm.adjustment}` : ""}.
            </p>
            <ul class="reasons">
              {(result.reasons ?? []).map((r, i) => (
                <li key={i}>
                  <span class={r.points >= 0 ? "plus" : "minus"}>
                    {r.points >= 0 ? `+${r.points}` : r.points}
                  </span>{" "}
                  {r.text}
                </li>
              ))}
            </ul>
          </>
        ) : (
          <p class="muted">Not scored yet.</p>
        )}
      </section>

      <section aria-labelledby="h-route">
        <h2 id="h-route">Why this owner</h2>
        {(result.explanation ?? []).length > 0 ? (
          <ol class="explanation">
            {(result.explanation ?? []).map((line, i) => (
              <li key={i}>{line}</li>
            ))}
          </ol>
        ) : (
          <p class="muted">Not routed yet.</p>
        )}
      </section>

      <section aria-labelledby="h-timeline">
        <h2 id="h-timeline">Timeline</h2>
        {(lead.timeline ?? []).length === 0 ? (
          <p class="muted">No step has run yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Step</th>
                <th scope="col">Started</th>
                <th scope="col">Took</th>
                <th scope="col">Outcome</th>
              </tr>
            </thead>
            <tbody>
              {(lead.timeline ?? []).map((step, i) => (
                <tr key={i}>
                  <td>
                    <code>{step.node}</code>
                  </td>
                  <td>{time(step.startedAt)}</td>
                  <td>{duration(step.durationMs)}</td>
                  <td>{step.status === "ok" ? "ok" : <span class="minus">{step.error ?? "error"}</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      {(result.warnings ?? []).length > 0 ? (
        <section aria-labelledby="h-warnings">
          <h2 id="h-warnings">Warnings</h2>
          <ul>
            {(result.warnings ?? []).map((w, i) => (
              <li key={i}>
                <code>{w.node}</code> {w.message}
              </li>
            ))}
          </ul>
        </section>
      ) : null}

      <section aria-labelledby="h-message">
        <h2 id="h-message">The owner's message</h2>
        {lead.message ? (
          <BlockKit blocks={lead.message.blocks} />
        ) : (
          <p class="muted">No message was sent for this lead.</p>
        )}
      </section>
    </article>
  );
}
