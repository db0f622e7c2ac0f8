/**
 * The LeadGraph console: sign-in, then Leads, Lead, Live, Routing and Reports. Every page is plain links,
 * buttons and form fields, so it works with the keyboard; the processing state shows on every page.
 */
import { render } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api, errorText, type Processing, type Session, setSession, whenSignedOut } from "./api.ts";
import { ErrorNote, Link, Loading } from "./components.tsx";
import { time } from "./format.ts";
import { LeadPage } from "./pages/lead.tsx";
import { LeadsPage } from "./pages/leads.tsx";
import { LivePage } from "./pages/live.tsx";
import { ReportsPage } from "./pages/reports.tsx";
import { RoutingPage } from "./pages/routing.tsx";
import { SignIn } from "./pages/sign-in.tsx";
import { navigate, useLocation } from "./router.ts";
import "./styles.css";

const NAV = [
  { href: "/console/leads", label: "Leads", match: (p: string) => p === "/" || p.startsWith("/leads") },
  { href: "/console/live", label: "Live", match: (p: string) => p.startsWith("/live") },
  { href: "/console/routing", label: "Routing", match: (p: string) => p.startsWith("/routing") },
  { href: "/console/reports", label: "Reports", match: (p: string) => p.startsWith("/reports") },
];

function ProcessingBanner(props: { session: Session }) {
  const [state, setState] = useState<Processing | null>(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const load = useCallback(() => {
    api<Processing>("/admin/processing").then(setState, (err) => setError(errorText(err)));
  }, []);
  useEffect(() => {
    load();
    const timer = setInterval(load, 10_000);
    return () => clearInterval(timer);
  }, [load]);
  const toggle = async () => {
    setBusy(true);
    setError("");
    try {
      setState(
        await api<Processing>(`/admin/processing/${state?.paused ? "resume" : "pause"}`, { method: "POST" }),
      );
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  if (!state) return error ? <ErrorNote message={error} /> : null;
  return (
    <section
      class={state.paused ? "processing paused" : "processing"}
      aria-label="Processing"
      aria-live="polite"
    >
      <span>
        {state.paused ? (
          <>
            <strong>Processing is paused</strong> since {time(state.since)}: new leads are stored and wait
            {state.queued !== undefined ? ` (${state.queued} waiting)` : ""}.
          </>
        ) : (
          <>Processing is running{state.queued ? `: ${state.queued} in the queue` : ""}.</>
        )}
      </span>
      {props.session.role === "admin" ? (
        <button type="button" onClick={toggle} disabled={busy}>
          {state.paused ? "Resume processing" : "Pause processing"}
        </button>
      ) : null}
      {error ? <ErrorNote message={error} /> : null}
    </section>
  );
}

function App() {
  const [session, setCurrent] = useState<Session | null | undefined>(undefined);
  const { path, query } = useLocation();
  const main = useRef<HTMLElement>(null);

  const adopt = useCallback((next: Session | null) => {
    setSession(next);
    setCurrent(next);
  }, []);
  useEffect(() => {
    whenSignedOut(() => adopt(null));
    api<Session>("/console/session").then(adopt, () => adopt(null));
  }, [adopt]);
  // A new page moves the focus to its content, as a full page load would.
  useEffect(() => {
    main.current?.focus();
  }, [path]);

  if (session === undefined) return <Loading what="the console" />;
  if (session === null)
    return (
      <SignIn
        onSignedIn={(next) => {
          adopt(next);
          if (path === "/") navigate("/console/leads");
        }}
      />
    );

  const signOut = async () => {
    await api("/console/session", { method: "DELETE" }).catch(() => undefined);
    adopt(null);
  };
  const leadMatch = /^\/leads\/([^/]+)$/.exec(path);
  let page = <LeadsPage session={session} query={query} />;
  if (leadMatch) page = <LeadPage session={session} leadId={decodeURIComponent(leadMatch[1] ?? "")} />;
  else if (path.startsWith("/live")) page = <LivePage />;
  else if (path.startsWith("/routing")) page = <RoutingPage session={session} />;
  else if (path.startsWith("/reports")) page = <ReportsPage />;

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">LeadGraph</span>
        <nav aria-label="Console">
          {NAV.map((item) => (
            <Link key={item.href} href={item.href} current={item.match(path)}>
              {item.label}
            </Link>
          ))}
        </nav>
        <span class="who">
          Signed in as <strong>{session.role}</strong>
          <button type="button" class="link-button" onClick={signOut}>
            Sign out
          </button>
        </span>
      </header>
      <ProcessingBanner session={session} />
      <main id="main" ref={main} tabIndex={-1}>
        {page}
      </main>
    </>
  );
}

const root = document.getElementById("app");
if (root) {
  root.textContent = "";
  render(<App />, root);
}
