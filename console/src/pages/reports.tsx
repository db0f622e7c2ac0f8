/**
 * Reports: speed to lead per day (p50/p95), leads per owner against their pool weight share, paths and tiers
 * per day, failures and retries, the LLM's share and cost; the owner loop's acceptance figures slot in last.
 * Every chart writes its numbers out, so it reads without the picture.
 */
import { useEffect, useState } from "preact/hooks";
import { api, errorText } from "../api.ts";
import { BarChart, Empty, ErrorNote, Loading } from "../components.tsx";
import { duration, money, percent } from "../format.ts";

interface DaySpeed {
  day: string;
  notified: number;
  p50Ms?: number;
  p95Ms?: number;
}
interface Reports {
  days: string[];
  leads: number;
  truncated: boolean;
  speedToLead: { overall: Omit<DaySpeed, "day">; byDay: DaySpeed[] };
  owners: {
    byOwner: Array<{ ownerId: string; leads: number; share: number }>;
    pools: Array<{
      pool: string;
      leads: number;
      members: Array<{ ownerId: string; weight: number; weightShare: number; leads: number; share: number }>;
    }>;
  };
  paths: { byDay: Array<{ day: string; counts: Record<string, number> }>; totals: Record<string, number> };
  tiers: { byDay: Array<{ day: string; counts: Record<string, number> }>; totals: Record<string, number> };
  failures: {
    failedNow: number;
    retried: number;
    byNode: Record<string, number>;
    byDay: Array<{ day: string; failed: number; retried: number }>;
  };
  llm: {
    leads: number;
    leadsWithLlm: number;
    share: number;
    calls: number;
    promptTokens: number;
    completionTokens: number;
    costUsd: number;
    prices: { prompt: number; completion: number };
  };
  acceptance: { available: boolean; note: string };
}

const count = (v: number) => String(Math.round(v));

/** Days as stacked counts in a small table: one row per day, one column per kind. */
function DayTable(props: {
  title: string;
  rows: Array<{ day: string; counts: Record<string, number> }>;
  kinds: string[];
}) {
  const rows = props.rows.filter((r) => Object.values(r.counts).some((v) => v > 0));
  if (rows.length === 0) return <Empty>No leads in this period.</Empty>;
  const max = Math.max(1, ...rows.map((r) => Object.values(r.counts).reduce((a, b) => a + b, 0)));
  return (
    <table class="stacked">
      <caption>{props.title}</caption>
      <thead>
        <tr>
          <th scope="col">Day</th>
          {props.kinds.map((k) => (
            <th key={k} scope="col">
              {k}
            </th>
          ))}
          <th scope="col">
            <span class="visually-hidden">Chart</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.day}>
            <th scope="row">{row.day}</th>
            {props.kinds.map((k) => (
              <td key={k}>{row.counts[k] ?? 0}</td>
            ))}
            <td class="stack" aria-hidden="true">
              <div class="stack-bar">
                {props.kinds.map((k) => (
                  <span
                    key={k}
                    class={`seg seg-${k}`}
                    style={{ width: `${((row.counts[k] ?? 0) / max) * 100}%` }}
                  />
                ))}
              </div>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function ReportsPage() {
  const [days, setDays] = useState(14);
  const [report, setReport] = useState<Reports | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    setReport(null);
    setError("");
    api<Reports>(`/admin/reports?days=${days}`).then(setReport, (err) => setError(errorText(err)));
  }, [days]);

  return (
    <>
      <h1>Reports</h1>
      <div class="field inline">
        <label for="r-days">Period</label>
        <select
          id="r-days"
          value={String(days)}
          onChange={(e) => setDays(Number((e.target as HTMLSelectElement).value))}
        >
          <option value="1">today</option>
          <option value="7">last 7 days</option>
          <option value="14">last 14 days</option>
          <option value="30">last 30 days</option>
          <option value="90">last 90 days</option>
        </select>
      </div>
      {error ? <ErrorNote message={error} /> : null}
      {!report && !error ? <Loading what="reports" /> : null}
      {report ? (
        <>
          <p>
            {report.leads} leads received in this period
            {report.truncated ? " (the newest 50,000 are counted)" : ""}.
          </p>
          <section class="card" aria-labelledby="h-speed">
            <h2 id="h-speed">Speed to lead</h2>
            <p>
              Webhook to owner notified: median <strong>{duration(report.speedToLead.overall.p50Ms)}</strong>,
              95th percentile <strong>{duration(report.speedToLead.overall.p95Ms)}</strong> over{" "}
              {report.speedToLead.overall.notified} notified leads.
            </p>
            <BarChart
              title="p95 per day (median in the note)"
              bars={report.speedToLead.byDay
                .filter((d) => d.notified > 0)
                .map((d) => ({
                  label: d.day,
                  value: d.p95Ms ?? 0,
                  note: `median ${duration(d.p50Ms)}, ${d.notified} leads`,
                }))}
              format={(v) => duration(v)}
            />
          </section>
          <section class="card" aria-labelledby="h-owners">
            <h2 id="h-owners">Leads per owner</h2>
            <BarChart
              title="All routed leads"
              bars={report.owners.byOwner.map((o) => ({
                label: o.ownerId,
                value: o.leads,
                note: percent(o.share),
              }))}
              format={count}
            />
            {report.owners.pools
              .filter((p) => p.leads > 0)
              .map((pool) => (
                <BarChart
                  key={pool.pool}
                  title={`Pool ${pool.pool}: share of its ${pool.leads} leads (marker: weight share)`}
                  bars={pool.members.map((m) => ({
                    label: m.ownerId,
                    value: m.share,
                    target: m.weightShare,
                    note: `weight ${m.weight} → ${percent(m.weightShare)}`,
                  }))}
                  format={percent}
                  max={1}
                />
              ))}
          </section>
          <section class="card" aria-labelledby="h-paths">
            <h2 id="h-paths">Paths and tiers over time</h2>
            <DayTable
              title="Leads per path"
              rows={report.paths.byDay}
              kinds={["qualified", "review", "nurture"]}
            />
            <DayTable title="Leads per tier" rows={report.tiers.byDay} kinds={["hot", "warm", "cold"]} />
          </section>
          <section class="card" aria-labelledby="h-failures">
            <h2 id="h-failures">Failures and retries</h2>
            <p>
              <strong>{report.failures.failedNow}</strong> leads failed and not yet recovered;{" "}
              <strong>{report.failures.retried}</strong> needed more than one attempt.
            </p>
            <BarChart
              title="Failed leads by step"
              bars={Object.entries(report.failures.byNode).map(([node, n]) => ({ label: node, value: n }))}
              format={count}
            />
          </section>
          <section class="card" aria-labelledby="h-llm">
            <h2 id="h-llm">LLM share and cost</h2>
            <p>
              The LLM was consulted for <strong>{percent(report.llm.share)}</strong> of leads (
              {report.llm.leadsWithLlm} of {report.llm.leads}, {report.llm.calls} calls):{" "}
              {report.llm.promptTokens.toLocaleString()} prompt and{" "}
              {report.llm.completionTokens.toLocaleString()} completion tokens, about{" "}
              <strong>{money(report.llm.costUsd)}</strong> at ${report.llm.prices.prompt} and $
              {report.llm.prices.completion} per 1,000 tokens.
            </p>
          </section>
          <section class="card" aria-labelledby="h-accept">
            <h2 id="h-accept">Time to accept and SLA breaches</h2>
            <p class="muted">{report.acceptance.note}</p>
          </section>
        </>
      ) : null}
    </>
  );
}
