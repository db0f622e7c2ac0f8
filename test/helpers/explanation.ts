/**
 * A full route explanation as a real run keeps it (issue 12): each run of "rule N ...: no — ..." lines
 * folded into one counted line, every other line as it was. Written apart from the engine, so a test can
 * hold the engine's brief explanation against the full one.
 */
export function foldUnmatched(lines: string[]): string[] {
  const out: string[] = [];
  let run: number[] = [];
  const close = () => {
    if (run.length === 1) out.push(`rule ${run[0]}: no — its conditions did not hold`);
    if (run.length > 1)
      out.push(`rules ${run[0]}–${run.at(-1)}: no — their conditions did not hold (${run.length} rules)`);
    run = [];
  };
  for (const line of lines) {
    const unmatched = /^rule (\d+) ".*": no — /.exec(line);
    if (unmatched) run.push(Number(unmatched[1]));
    else {
      close();
      out.push(line);
    }
  }
  close();
  return out;
}
