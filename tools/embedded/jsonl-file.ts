/**
 * A durable, append-only JSON-lines file that several processes may write at once: the embedded
 * adapters' logs (the local CRM's crm.jsonl, the outbox notifier's outbox.jsonl).
 */
import { type FileHandle, mkdir, open, readFile } from "node:fs/promises";
import { basename, join } from "node:path";

/** Parses JSON lines, skipping blank ones and any torn by a crash mid-append. */
export function parseJsonLines<T>(text: string): T[] {
  const records: T[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      records.push(JSON.parse(line) as T);
    } catch {
      // torn by a crash mid-append; the records around it are intact
    }
  }
  return records;
}

/** Every record of a JSON-lines file (see `parseJsonLines`); [] when the file does not exist yet. */
export async function readJsonLines<T>(path: string): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  return parseJsonLines<T>(text);
}

export class JsonlFile<T> {
  readonly dir: string;
  readonly path: string;
  /** Names the owner in errors, e.g. "outbox". */
  readonly #label: string;
  readonly #pending: Array<{ text: string; resolve: () => void; reject: (err: unknown) => void }> = [];
  #flushing = false;

  constructor(dir: string, name: string, label: string) {
    this.dir = dir;
    this.path = join(dir, name);
    this.#label = label;
  }

  /**
   * Creates the directory and file, ends a last line torn by a crash so the next record starts
   * clean, and makes their directory entries durable. Call once before the first append.
   */
  async prepare(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const handle = await open(this.path, "a+");
    try {
      const { size } = await handle.stat();
      if (size > 0) {
        const last = Buffer.alloc(1);
        await handle.read(last, 0, 1, size - 1);
        if (last[0] !== 0x0a) await this.#appendDurable(handle, "\n");
      }
    } finally {
      await handle.close();
    }
    const dir = await open(this.dir, "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /**
   * Appends one record as one line; it is on disk when this resolves. Group commit: records appended
   * while a sync is in flight go out together in the next write and share its fdatasync, so concurrent
   * leads cost one sync per batch instead of one per record.
   */
  append(record: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ text: `${JSON.stringify(record)}\n`, resolve, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0);
      try {
        const handle = await open(this.path, "a");
        try {
          await this.#appendDurable(handle, batch.map((b) => b.text).join(""));
        } finally {
          await handle.close();
        }
        for (const b of batch) b.resolve();
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    this.#flushing = false;
  }

  /** Every record in the file, including a last line without its newline; [] before the first append. */
  readAll(): Promise<T[]> {
    return readJsonLines<T>(this.path);
  }

  /**
   * The records on the complete lines after byte `offset` (as other processes wrote them), and the
   * offset to read from next time. A last line still being written is left for the next call.
   */
  async readFrom(offset: number): Promise<{ records: T[]; offset: number }> {
    const handle = await open(this.path, "r");
    try {
      const { size } = await handle.stat();
      if (size <= offset) return { records: [], offset };
      const chunk = Buffer.alloc(size - offset);
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, offset);
      const end = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (end < 0) return { records: [], offset };
      return {
        records: parseJsonLines<T>(chunk.subarray(0, end).toString("utf8")),
        offset: offset + end + 1,
      };
    } finally {
      await handle.close();
    }
  }

  /**
   * One write(2) per batch of whole lines on an O_APPEND descriptor, then fdatasync: lines from two
   * processes never interleave, and a record is on disk before the caller is told it was stored.
   */
  async #appendDurable(handle: FileHandle, text: string): Promise<void> {
    const bytes = Buffer.from(text, "utf8");
    const { bytesWritten } = await handle.write(bytes, 0, bytes.length);
    if (bytesWritten !== bytes.length) {
      throw new Error(`${this.#label}: short write to ${basename(this.path)}`);
    }
    await handle.datasync();
  }
}
