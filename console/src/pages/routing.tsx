/**
 * Routing: the routing.json and scoring.json in force (version hash, load time, warnings), a simulator
 * (paste a lead or pick a stored one, see who would get it and why), the versions loaded with a diff to the
 * one in force, and what-if: recent leads replayed against a candidate routing.json.
 *
 * Over 300 lines because the page's four panels share one loaded config and its version list.
 */
import { useEffect, useState } from "preact/hooks";
import { api, errorText, type LeadPage, type Session } from "../api.ts";
import { Empty, ErrorNote, Loading } from "../components.tsx";
import { time } from "../format.ts";

interface FileInForce {
  file: string;
  hash: string;
  loadedAt: string;
  config: unknown;
}
interface RoutingStatus {
  routing: FileInForce;
  scoring: FileInForce;
  warnings: Array<{ path: string; code: string; message: string }>;
}
interface Preview {
  owner: string;
  rule?: string;
  path?: string;
  explanation: string[];
  score?: {
    value: number;
    tier: string;
    ruleScore: number;
    reasons: Array<{ text: string; points: number }>;
  };
}
interface Version {
  hash: string;
  file: string;
  firstLoadedAt: string;
  lastLoadedAt: string;
  current: boolean;
}
interface WhatIf {
  since: string;
  compared: number;
  skipped: number;
  changes: Array<{
    leadId: string;
    changed: string[];
    before: { owner?: string; rule?: string; tier?: string; explanation?: string[] };
    after: { owner?: string; rule?: string; tier?: string; explanation?: string[] };
  }>;
}

const SAMPLE = JSON.stringify(
  {
    email: "jane.doe@globex-industries.com",
    first_name: "Jane",
    last_name: "Doe",
    company: "Globex Industries",
    title: "VP of Operations",
    country: "US",
    state: "CA",
    source: "web",
    form: "Demo request",
  },
  null,
  2,
);

function FileCard(props: { title: string; file: FileInForce }) {
  return (
    <section class="card" aria-label={props.title}>
      <h2>{props.title}</h2>
      <p>
        Version <code>{props.file.hash}</code>, loaded {time(props.file.loadedAt)}
      </p>
      <p class="muted">{props.file.file}</p>
      <details>
        <summary>Show the configuration in force</summary>
        <pre class="json">{JSON.stringify(props.file.config, null, 2)}</pre>
      </details>
    </section>
  );
}

/** A form's one request: its result, the error to show (ours as written, the server's as errorText), busy. */
function useSubmit<T>(work: () => Promise<T>) {
  const [result, setResult] = useState<T | null>(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const run = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError("");
    setResult(null);
    try {
      setResult(await work());
    } catch (err) {
      setError(err instanceof InputError ? err.message : errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return { result, error, busy, run };
}

/** A mistake in what was typed, shown as written. */
class InputError extends Error {}

function parsed(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new InputError(`${what} is not valid JSON.`);
  }
}

function Simulator() {
  const [payload, setPayload] = useState(SAMPLE);
  const [recent, setRecent] = useState<LeadPage["leads"]>([]);
  const [picked, setPicked] = useState("");
  useEffect(() => {
    api<LeadPage>("/admin/leads?limit=20").then(
      (page) => setRecent(page.leads),
      () => undefined,
    );
  }, []);
  const { result, error, busy, run } = useSubmit(() =>
    picked
      ? api<Preview>(`/admin/leads/${encodeURIComponent(picked)}/preview`, { method: "POST" })
      : api<Preview>("/admin/routing/preview", { method: "POST", body: parsed(payload, "The lead") }),
  );
  return (
    <section class="card" aria-labelledby="h-sim">
      <h2 id="h-sim">Simulator</h2>
      <form onSubmit={run}>
        <div class="field">
          <label for="sim-pick">Pick a stored lead</label>
          <select
            id="sim-pick"
            value={picked}
            onChange={(e) => setPicked((e.target as HTMLSelectElement).value)}
          >
            <option value="">none: use the lead below</option>
            {recent.map((lead) => (
              <option key={lead.leadId} value={lead.leadId}>
                {lead.company ?? lead.domain ?? lead.leadId.slice(0, 8)} ({lead.status})
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="sim-payload">Or paste a lead (webhook JSON)</label>
          <textarea
            id="sim-payload"
            rows={10}
            value={payload}
            disabled={picked !== ""}
            onInput={(e) => setPayload((e.target as HTMLTextAreaElement).value)}
          />
        </div>
        <button type="submit" disabled={busy}>
          {busy ? "Simulating…" : "Simulate routing"}
        </button>
      </form>
      <p class="muted">A dry run: nothing is sent, stored or counted.</p>
      {error ? <ErrorNote message={error} /> : null}
      {result ? (
        <div class="sim-result" role="status">
          <p>
            Goes to <strong>{result.owner}</strong> by rule <code>{result.rule ?? "?"}</code>, path{" "}
            <strong>{result.path ?? "?"}</strong>
            {result.score ? `, score ${result.score.value} (${result.score.tier})` : ""}.
          </p>
          <ol class="explanation">
            {result.explanation.map((line, i) => (
              <li key={i}>{line}</li>
            ))}
          </ol>
        </div>
      ) : null}
    </section>
  );
}

function History() {
  const [kind, setKind] = useState<"routing" | "scoring">("routing");
  const [versions, setVersions] = useState<Version[] | null>(null);
  const [diff, setDiff] = useState<{ hash: string; text: string } | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    setVersions(null);
    setDiff(null);
    api<{ versions: Version[] }>(`/admin/routing/versions?kind=${kind}&limit=20`).then(
      (r) => setVersions(r.versions),
      (err) => setError(errorText(err)),
    );
  }, [kind]);
  const show = async (hash: string) => {
    try {
      const v = await api<{ diffToCurrent: string }>(`/admin/routing/versions/${kind}/${hash}`);
      setDiff({ hash, text: v.diffToCurrent || "(identical to the version in force)" });
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <section class="card" aria-labelledby="h-history">
      <h2 id="h-history">Versions</h2>
      <div class="field">
        <label for="hist-kind">File</label>
        <select
          id="hist-kind"
          value={kind}
          onChange={(e) => setKind((e.target as HTMLSelectElement).value as "routing")}
        >
          <option value="routing">routing.json</option>
          <option value="scoring">scoring.json</option>
        </select>
      </div>
      {error ? <ErrorNote message={error} /> : null}
      {!versions && !error ? <Loading what="versions" /> : null}
      {versions && versions.length === 0 ? <Empty>No versions recorded yet.</Empty> : null}
      {versions && versions.length > 0 ? (
        <ul class="versions">
          {versions.map((v) => (
            <li key={v.hash}>
              <code>{v.hash}</code> loaded {time(v.lastLoadedAt)}{" "}
              {v.current ? <strong>(in force)</strong> : null}{" "}
              {v.current ? null : (
                <button type="button" class="link-button" onClick={() => show(v.hash)}>
                  Diff to the version in force
                </button>
              )}
            </li>
          ))}
        </ul>
      ) : null}
      {diff ? (
        <figure>
          <figcaption>
            Diff of <code>{diff.hash}</code> to the version in force
          </figcaption>
          <pre class="diff">{diff.text}</pre>
        </figure>
      ) : null}
    </section>
  );
}

function WhatIfPanel(props: { current: unknown }) {
  const [candidate, setCandidate] = useState(() => JSON.stringify(props.current, null, 2));
  const [since, setSince] = useState("7d");
  const { result, error, busy, run } = useSubmit(() =>
    api<WhatIf>("/admin/routing/what-if", {
      method: "POST",
      body: { routing: parsed(candidate, "The candidate routing.json"), since },
    }),
  );
  return (
    <section class="card" aria-labelledby="h-whatif">
      <h2 id="h-whatif">What if</h2>
      <form onSubmit={run}>
        <div class="field">
          <label for="wi-config">Candidate routing.json</label>
          <textarea
            id="wi-config"
            rows={12}
            value={candidate}
            onInput={(e) => setCandidate((e.target as HTMLTextAreaElement).value)}
          />
        </div>
        <div class="field">
          <label for="wi-since">Replay leads received in the last</label>
          <select
            id="wi-since"
            value={since}
            onChange={(e) => setSince((e.target as HTMLSelectElement).value)}
          >
            <option value="24h">24 hours</option>
            <option value="7d">7 days</option>
            <option value="30d">30 days</option>
          </select>
        </div>
        <button type="submit" disabled={busy}>
          {busy ? "Replaying…" : "Replay recent leads"}
        </button>
      </form>
      {error ? <ErrorNote message={error} /> : null}
      {result ? (
        <div role="status">
          <p>
            {result.compared} leads replayed, {result.changes.length} would change
            {result.skipped ? ` (${result.skipped} skipped: no stored facts)` : ""}.
          </p>
          {result.changes.length > 0 ? (
            <table>
              <thead>
                <tr>
                  <th scope="col">Lead</th>
                  <th scope="col">Changes</th>
                  <th scope="col">Now</th>
                  <th scope="col">With the candidate</th>
                </tr>
              </thead>
              <tbody>
                {result.changes.map((c) => (
                  <tr key={c.leadId}>
                    <td>
                      <a href={`/console/leads/${encodeURIComponent(c.leadId)}`}>{c.leadId.slice(0, 8)}</a>
                    </td>
                    <td>{c.changed.join(", ")}</td>
                    <td>
                      {c.before.owner} ({c.before.rule}, {c.before.tier})
                    </td>
                    <td>
                      {c.after.owner} ({c.after.rule}, {c.after.tier})
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}

export function RoutingPage(props: { session: Session }) {
  const [status, setStatus] = useState<RoutingStatus | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    api<RoutingStatus>("/admin/routing").then(setStatus, (err) => setError(errorText(err)));
  }, []);
  return (
    <>
      <h1>Routing</h1>
      {error ? <ErrorNote message={error} /> : null}
      {!status && !error ? <Loading what="the routing configuration" /> : null}
      {status ? (
        <>
          <div class="cards">
            <FileCard title="routing.json" file={status.routing} />
            <FileCard title="scoring.json" file={status.scoring} />
          </div>
          <section class="card" aria-labelledby="h-problems">
            <h2 id="h-problems">Problems</h2>
            {status.warnings.length === 0 ? (
              <p>No warnings: every rule can match, no duplicates, known vocabulary.</p>
            ) : (
              <ul class="warnings">
                {status.warnings.map((w, i) => (
                  <li key={i}>
                    <code>{w.path}</code> {w.message}
                  </li>
                ))}
              </ul>
            )}
          </section>
        </>
      ) : null}
      <Simulator />
      <History />
      {status && props.session.role === "admin" ? <WhatIfPanel current={status.routing.config} /> : null}
    </>
  );
}
