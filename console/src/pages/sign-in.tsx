import { useEffect, useRef, useState } from "preact/hooks";
import { api, errorText, type Session } from "../api.ts";
import { ErrorNote } from "../components.tsx";

export function SignIn(props: { onSignedIn: (session: Session) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const field = useRef<HTMLInputElement>(null);
  // The one thing to do on this page: the token field takes the focus.
  useEffect(() => field.current?.focus(), []);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError("");
    try {
      props.onSignedIn(await api<Session>("/console/session", { method: "POST", body: { token } }));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <h1>LeadGraph console</h1>
      <form onSubmit={submit}>
        <label for="token">Admin or viewer token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="current-password"
          required
          ref={field}
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
        />
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        {error ? <ErrorNote message={error} /> : null}
      </form>
      <p class="hint">Tokens come from ADMIN_TOKENS (admins) and VIEWER_TOKENS (read-only).</p>
    </main>
  );
}
