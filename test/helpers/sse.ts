/** A small server-sent-events client over fetch, for tests: collects events and waits for the ones asked for. */
import { setTimeout as sleep } from "node:timers/promises";

export interface SseEvent {
  id?: string;
  event: string;
  data: Record<string, unknown>;
}

export interface SseClient {
  events: SseEvent[];
  status: number;
  /** Waits (bounded: a hang guard, not a timing check) until `predicate` holds for the collected events. */
  waitFor(predicate: (events: SseEvent[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): void;
}

export async function connectSse(url: string, headers: Record<string, string>): Promise<SseClient> {
  const abort = new AbortController();
  const response = await fetch(url, {
    headers: { accept: "text/event-stream", ...headers },
    signal: abort.signal,
  });
  const events: SseEvent[] = [];
  const client: SseClient = {
    events,
    status: response.status,
    async waitFor(predicate, what, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(events)) {
        if (Date.now() > deadline)
          throw new Error(
            `timed out waiting for ${what}; got ${events.map((e) => e.data.type ?? e.event).join(", ")}`,
          );
        await sleep(20);
      }
    },
    close: () => abort.abort(),
  };
  if (!response.ok || !response.body) return client;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf("\n\n");
          let id: string | undefined;
          let event = "message";
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("id: ")) id = line.slice(4);
            else if (line.startsWith("event: ")) event = line.slice(7);
            else if (line.startsWith("data: ")) data.push(line.slice(6));
          }
          if (data.length > 0)
            events.push({
              ...(id ? { id } : {}),
              event,
              data: JSON.parse(data.join("\n")) as Record<string, unknown>,
            });
        }
      }
    } catch {
      // aborted
    }
  })();
  return client;
}
