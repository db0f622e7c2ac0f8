/**
 * Runs once before the suite: without redis-server on PATH the Redis tests would fail one by one with spawn
 * errors and start-up timeouts, so the run stops at once with one line saying what is missing.
 */
import { redisServerProblem } from "./helpers/redis-server.ts";

export default function setup(): void {
  const problem = redisServerProblem();
  if (problem === undefined) return;
  process.stderr.write(`\n${problem}\n\n`);
  process.exit(1);
}
