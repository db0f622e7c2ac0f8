/**
 * WAL checkpoints off the event loop. In WAL mode SQLite appends every commit to the `-wal` file and, by
 * default, the connection whose commit takes the log past 1,000 pages copies the log back into the
 * database file there and then, with two fsyncs, inside that commit. In the embedded profile that
 * connection is the service's one connection, so every few leads one commit stalled the event loop for 5 to
 * 20 ms and the fsync waits took a sixth of the service's time (BENCHMARKS.md, "Service throughput").
 *
 * Here a worker thread with a connection of its own runs PASSIVE checkpoints on a short interval while
 * writes come in: it copies what no reader still needs and never blocks a writer, so the service's commits
 * only append. The thread starts on the first commit after a quiet spell and ends itself once a checkpoint
 * has found nothing to copy for `idleMs`, so an idle service holds no second V8 isolate (issue 12: idle
 * memory). While it runs, the service's connection keeps an automatic checkpoint only as a backstop
 * (`backstopPages`), should the thread fall behind; otherwise, and if the thread cannot start or fails,
 * SQLite's default behaviour stands.
 */
import type { DatabaseSync } from "node:sqlite";
import { Worker } from "node:worker_threads";

export interface WalCheckpointerOptions {
  /** The database file (the same one `db` has open). */
  path: string;
  /** The service's connection: its automatic checkpoint becomes the backstop while the thread runs. */
  db: DatabaseSync;
  /** How often the thread checkpoints while writes come in; default 200 ms. */
  intervalMs?: number;
  /** The thread ends after this long with nothing to checkpoint; default 30 s. */
  idleMs?: number;
  /** The service connection's automatic checkpoint while the thread runs, in pages; default 16,000 (64 MB). */
  backstopPages?: number;
  /** Told when the thread fails (it is restarted on the next commit). */
  onError?: (err: Error) => void;
}

/** SQLite's own default, restored when the thread is not running. */
const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;

// CommonJS evaluated in the worker: no file to resolve from the sources or from dist/. The pragma answers
// the log's length and how much of it is now in the database file; while either moves, writes are coming in.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { DatabaseSync } = require("node:sqlite");
const db = new DatabaseSync(workerData.path);
db.exec("PRAGMA busy_timeout = 1000");
const checkpoint = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
let last = "";
let activeAt = Date.now();
// Closing the port lets the thread end; the service sees it exit.
const stop = () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
};
const timer = setInterval(() => {
  const row = checkpoint.get();
  const seen = row ? row.log + "/" + row.checkpointed : "";
  if (seen !== last) {
    last = seen;
    activeAt = Date.now();
  } else if (Date.now() - activeAt > workerData.idleMs) {
    stop();
  }
}, workerData.intervalMs);
parentPort.on("message", (message) => {
  if (message === "stop") stop();
});
parentPort.postMessage("ready");
`;

export class WalCheckpointer {
  readonly #options: Required<Omit<WalCheckpointerOptions, "onError">> &
    Pick<WalCheckpointerOptions, "onError">;
  #worker: Worker | undefined;
  #closed = false;

  constructor(options: WalCheckpointerOptions) {
    this.#options = {
      intervalMs: 200,
      idleMs: 30_000,
      backstopPages: 16_000,
      ...options,
    };
  }

  /** Whether the checkpoint thread is running now. */
  get running(): boolean {
    return this.#worker !== undefined;
  }

  /** A commit happened: starts the thread if it is not running. Cheap when it is. */
  wake(): void {
    if (this.#worker || this.#closed) return;
    const { path, intervalMs, idleMs } = this.#options;
    let worker: Worker;
    try {
      worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, intervalMs, idleMs } });
    } catch (err) {
      this.#options.onError?.(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    // Never what keeps the process alive.
    worker.unref();
    this.#worker = worker;
    worker.on("message", (message) => {
      if (message === "ready") this.#setBackstop(this.#options.backstopPages);
    });
    worker.on("error", (err) => this.#options.onError?.(err));
    worker.once("exit", () => {
      if (this.#worker === worker) this.#worker = undefined;
      this.#setBackstop(DEFAULT_AUTOCHECKPOINT_PAGES);
    });
  }

  /** Stops the thread (its connection closes); later commits checkpoint as SQLite does by default. */
  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    // Held by the process again until it has gone: awaiting an unreferenced thread, a process with nothing
    // else to do would end right here, before its caller's next line.
    worker.ref();
    worker.postMessage("stop");
    // The thread ends its interval and closes its connection; terminate covers one stuck in a checkpoint.
    const timeout = setTimeout(() => void worker.terminate(), 2000);
    timeout.unref();
    await exited;
    clearTimeout(timeout);
  }

  #setBackstop(pages: number): void {
    const { db } = this.#options;
    if (db.isOpen) db.exec(`PRAGMA wal_autocheckpoint = ${Math.trunc(pages)}`);
  }
}
