/**
 * Live: leads arriving and moving through the graph as it happens, from GET /admin/events (server-sent
 * events; the browser reconnects by itself and the server resumes after the last event it saw).
 */
import { useEffect, useState } from "preact/hooks";
import { Empty, Link, StatusBadge } from "../components.tsx";
import { clock, duration } from "../format.ts";

interface LiveEvent {
  type: string;
  leadId?: string;
  at: string;
  node?: string;
  company?: string;
  channel?: string;
  ownerId?: string;
  queue?: string;
  pool?: string;
  path?: string;
  error?: string;
  durationMs?: number;
}

interface LiveLead {
  leadId: string;
  company?: string;
  status: string;
  step?: string;
  owner?: string;
  path?: string;
  firstAt: string;
  lastAt: string;
}

const MAX_LEADS = 50;
const MAX_FEED = 40;

function describe(event: LiveEvent): string {
  switch (event.type) {
    case "lead.received":
      return `received${event.company ? ` from ${event.company}` : ""}`;
    case "run.started":
      return "run started";
    case "node.started":
      return `${event.node} started`;
    case "node.finished":
      return `${event.node} finished in ${duration(event.durationMs)}`;
    case "node.failed":
      return `${event.node} failed: ${event.error ?? ""}`;
    case "lead.routed":
      return `routed to ${event.ownerId ?? event.queue ?? event.pool ?? "?"} (${event.path ?? "?"})`;
    case "lead.notified":
      return `owner notified${event.ownerId ? `: ${event.ownerId}` : ""}`;
    case "lead.completed":
      return "completed";
    case "lead.awaiting":
      return `delivered: waiting for ${event.ownerId ?? "review"}`;
    case "lead.failed":
      return `failed${event.node ? ` in ${event.node}` : ""}`;
    case "processing.paused":
      return "processing paused";
    case "processing.resumed":
      return "processing resumed";
    default:
      return event.type;
  }
}

function apply(leads: Map<string, LiveLead>, event: LiveEvent): void {
  if (!event.leadId) return;
  const lead = leads.get(event.leadId) ?? {
    leadId: event.leadId,
    status: "queued",
    firstAt: event.at,
    lastAt: event.at,
  };
  lead.lastAt = event.at > lead.lastAt ? event.at : lead.lastAt;
  if (event.company) lead.company = event.company;
  switch (event.type) {
    case "run.started":
      if (lead.status !== "completed") lead.status = "running";
      break;
    case "node.started":
      if (lead.status !== "completed" && lead.status !== "failed") {
        lead.status = "running";
        lead.step = event.node;
      }
      break;
    case "lead.routed":
      lead.owner = event.ownerId ?? event.queue ?? event.pool;
      lead.path = event.path;
      break;
    case "lead.completed":
      lead.status = "completed";
      lead.step = undefined;
      break;
    case "lead.awaiting":
      // Delivered: the owner (or a reviewer) has it and the lead waits for their decision.
      lead.status = "awaiting";
      lead.step = undefined;
      break;
    case "lead.failed":
      lead.status = "failed";
      lead.step = event.node;
      break;
  }
  leads.delete(lead.leadId);
  leads.set(lead.leadId, lead);
  while (leads.size > MAX_LEADS) leads.delete(leads.keys().next().value as string);
}

export function LivePage() {
  const [leads, setLeads] = useState<LiveLead[]>([]);
  const [feed, setFeed] = useState<Array<{ id: string; event: LiveEvent }>>([]);
  const [state, setState] = useState<"connecting" | "open" | "retrying">("connecting");
  const [gap, setGap] = useState(false);

  useEffect(() => {
    const byLead = new Map<string, LiveLead>();
    let pending: Array<{ id: string; event: LiveEvent }> = [];
    let frame = 0;
    // Events come in bursts (a lead is about 20 of them): the page redraws once per animation frame.
    const flush = () => {
      frame = 0;
      for (const item of pending) apply(byLead, item.event);
      const added = pending;
      pending = [];
      setLeads([...byLead.values()].reverse());
      setFeed((old) => [...added.reverse(), ...old].slice(0, MAX_FEED));
    };
    const source = new EventSource("/admin/events?last=200");
    source.onopen = () => setState("open");
    source.onerror = () => setState(source.readyState === EventSource.CLOSED ? "retrying" : "connecting");
    source.onmessage = (message) => {
      pending.push({ id: message.lastEventId, event: JSON.parse(message.data) as LiveEvent });
      frame ||= requestAnimationFrame(flush);
    };
    source.addEventListener("gap", () => setGap(true));
    return () => {
      source.close();
      cancelAnimationFrame(frame);
    };
  }, []);

  return (
    <>
      <h1>Live</h1>
      <p class="muted" role="status">
        {state === "open"
          ? "Connected: new leads appear here as they arrive."
          : "Connecting to the event stream…"}
      </p>
      {gap ? (
        <p class="notice">Some events were missed while disconnected; open a lead for its full story.</p>
      ) : null}
      {leads.length === 0 ? (
        <Empty>No lead activity yet. Leads appear here the moment a webhook delivers them.</Empty>
      ) : (
        <table class="live">
          <caption class="visually-hidden">Recent leads, latest activity first</caption>
          <thead>
            <tr>
              <th scope="col">Lead</th>
              <th scope="col">Status</th>
              <th scope="col">Step</th>
              <th scope="col">Owner</th>
              <th scope="col">Path</th>
              <th scope="col">Received</th>
              <th scope="col">Last event</th>
            </tr>
          </thead>
          <tbody>
            {leads.map((lead) => (
              <tr key={lead.leadId} data-lead-id={lead.leadId}>
                <td>
                  <Link href={`/console/leads/${encodeURIComponent(lead.leadId)}`}>
                    {lead.company ?? lead.leadId.slice(0, 8)}
                  </Link>
                </td>
                <td>
                  <StatusBadge status={lead.status} />
                </td>
                <td>{lead.step ?? "—"}</td>
                <td>{lead.owner ?? "—"}</td>
                <td>{lead.path ?? "—"}</td>
                <td>{clock(lead.firstAt)}</td>
                <td>{clock(lead.lastAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Event feed</h2>
      <ol class="feed">
        {feed.map(({ id, event }) => (
          <li key={id}>
            <time>{clock(event.at)}</time> <code>{event.leadId?.slice(0, 8) ?? "service"}</code>{" "}
            {describe(event)}
          </li>
        ))}
      </ol>
    </>
  );
}
