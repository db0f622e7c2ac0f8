/** Leads: search by email, domain, company or owner; filter by status, path, owner, source and date; paged. */
import { useEffect, useState } from "preact/hooks";
import { api, errorText, type LeadPage, type Session } from "../api.ts";
import { Empty, ErrorNote, Link, Loading, StatusBadge } from "../components.tsx";
import { time } from "../format.ts";
import { queryChoices } from "../openapi.ts";
import { navigate } from "../router.ts";

/** Until the server's document says otherwise. */
const STATUSES = ["queued", "running", "retrying", "completed", "failed"];
const PATHS = ["qualified", "review", "nurture"];

/** A filter picked from a list, "any" first. */
function Choice(props: {
  label: string;
  options: string[];
  id: string;
  name: string;
  value: string;
  onInput: (e: Event) => void;
}) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <select id={props.id} name={props.name} value={props.value} onChange={props.onInput}>
        <option value="">any</option>
        {props.options.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
    </div>
  );
}

const FILTERS = ["q", "status", "path", "owner", "source", "channel", "from", "to"] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

function filtersOf(query: URLSearchParams): Filters {
  return Object.fromEntries(FILTERS.map((f) => [f, query.get(f) ?? ""])) as Filters;
}

/** The API wants instants; the form has days: `from` is the day's start, `to` the next day's start. */
function apiQuery(filters: Filters, cursor: string | null): string {
  const params = new URLSearchParams();
  for (const key of FILTERS) {
    const value = filters[key].trim();
    if (!value) continue;
    if (key === "from") params.set("from", new Date(`${value}T00:00:00`).toISOString());
    else if (key === "to")
      params.set("to", new Date(new Date(`${value}T00:00:00`).getTime() + 86_400_000).toISOString());
    else params.set(key, value);
  }
  params.set("limit", "25");
  if (cursor) params.set("cursor", cursor);
  return params.toString();
}

export function LeadsPage(props: { session: Session; query: URLSearchParams }) {
  const applied = filtersOf(props.query);
  const cursor = props.query.get("cursor");
  const [form, setForm] = useState<Filters>(applied);
  const [page, setPage] = useState<LeadPage | null>(null);
  const [error, setError] = useState("");
  const [statuses, setStatuses] = useState(STATUSES);
  const key = props.query.toString();

  useEffect(() => {
    void queryChoices("/admin/leads", "status", STATUSES).then(setStatuses);
  }, []);

  useEffect(() => {
    setForm(filtersOf(props.query));
    setPage(null);
    setError("");
    let live = true;
    api<LeadPage>(`/admin/leads?${apiQuery(filtersOf(props.query), cursor)}`).then(
      (result) => live && setPage(result),
      (err) => live && setError(errorText(err)),
    );
    return () => {
      live = false;
    };
  }, [key]);

  const submit = (event: Event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const f of FILTERS) if (form[f].trim()) params.set(f, form[f].trim());
    navigate(`/console/leads${params.size ? `?${params}` : ""}`);
  };
  const field = (name: keyof Filters) => ({
    id: `f-${name}`,
    name,
    value: form[name],
    onInput: (e: Event) => setForm({ ...form, [name]: (e.target as HTMLInputElement).value }),
  });
  const nextHref = () => {
    const params = new URLSearchParams(props.query);
    if (page?.nextCursor) params.set("cursor", page.nextCursor);
    return `/console/leads?${params}`;
  };
  const firstHref = () => {
    const params = new URLSearchParams(props.query);
    params.delete("cursor");
    return `/console/leads${params.size ? `?${params}` : ""}`;
  };

  return (
    <>
      <h1>Leads</h1>
      <form class="filters" onSubmit={submit}>
        <div class="field wide">
          <label for="f-q">Search</label>
          <input type="search" placeholder="email, domain, company or owner" {...field("q")} />
        </div>
        <Choice label="Status" options={statuses} {...field("status")} />
        <Choice label="Path" options={PATHS} {...field("path")} />
        <div class="field">
          <label for="f-owner">Owner</label>
          <input {...field("owner")} placeholder="owner id" />
        </div>
        <div class="field">
          <label for="f-channel">Channel</label>
          <input {...field("channel")} placeholder="web, partner…" />
        </div>
        <div class="field">
          <label for="f-source">Source</label>
          <input {...field("source")} placeholder="generic, hubspot-workflow…" />
        </div>
        <div class="field">
          <label for="f-from">Received from</label>
          <input type="date" {...field("from")} />
        </div>
        <div class="field">
          <label for="f-to">Received to</label>
          <input type="date" {...field("to")} />
        </div>
        <div class="actions">
          <button type="submit">Search</button>
          <Link href="/console/leads" class="button-link">
            Clear
          </Link>
        </div>
      </form>
      {error ? <ErrorNote message={error} /> : null}
      {!page && !error ? <Loading what="leads" /> : null}
      {page && page.leads.length === 0 ? <Empty>No leads match. Try fewer words or filters.</Empty> : null}
      {page && page.leads.length > 0 ? (
        <table class="leads">
          <caption class="visually-hidden">Leads, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Received</th>
              <th scope="col">Company</th>
              <th scope="col">Email</th>
              <th scope="col">Status</th>
              <th scope="col">Path</th>
              <th scope="col">Tier</th>
              <th scope="col">Owner</th>
            </tr>
          </thead>
          <tbody>
            {page.leads.map((lead) => (
              <tr key={lead.leadId}>
                <td>{time(lead.receivedAt)}</td>
                <td>
                  <Link href={`/console/leads/${encodeURIComponent(lead.leadId)}`}>
                    {lead.company ?? lead.domain ?? lead.leadId.slice(0, 8)}
                  </Link>
                  {lead.domain ? <span class="muted"> {lead.domain}</span> : null}
                </td>
                <td>{lead.email ?? "—"}</td>
                <td>
                  <StatusBadge status={lead.status} />
                </td>
                <td>{lead.path ?? "—"}</td>
                <td>{lead.tier ?? "—"}</td>
                <td>{lead.ownerId ?? lead.result?.owner ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <nav class="pager" aria-label="Pages">
        {cursor ? <Link href={firstHref()}>First page</Link> : null}
        {page?.nextCursor ? <Link href={nextHref()}>Next page</Link> : null}
      </nav>
    </>
  );
}
