/** Client-side routes under /console: the server answers every /console/... path with the same page. */
import { useEffect, useState } from "preact/hooks";

export const BASE = "/console";

const listeners = new Set<() => void>();

export function navigate(to: string): void {
  if (`${location.pathname}${location.search}` === to) return;
  history.pushState(null, "", to);
  for (const listener of listeners) listener();
}

/** The path below /console and the query, re-rendering on navigation. */
export function useLocation(): { path: string; query: URLSearchParams } {
  const read = () => ({
    path: location.pathname.replace(/^\/console/, "").replace(/\/$/, "") || "/",
    query: new URLSearchParams(location.search),
  });
  const [current, setCurrent] = useState(read);
  useEffect(() => {
    const update = () => setCurrent(read());
    listeners.add(update);
    addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      removeEventListener("popstate", update);
    };
  }, []);
  return current;
}
