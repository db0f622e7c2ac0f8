/**
 * The README's picture of the owner's Slack message, made from the real renderer: runs a sample lead
 * (fixtures/leads_sample.json L001) through the lead graph on the embedded stand-ins at a fixed clock, lays out
 * its message with domain/owner-message.ts as the HubSpot profile would (with a contact record link), and
 * writes docs/slack-message.json (Block Kit, as chat.postMessage sends it) and docs/slack-message.png (an HTML
 * approximation of Slack's rendering, screenshotted by Debian's chromium through playwright-core).
 *
 *   node bin/slack-message-picture.ts            # both files
 *   node bin/slack-message-picture.ts --json     # the JSON only (no browser needed)
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createEmbeddedDeps } from "../app/embedded-deps.ts";
import { buildDecidedMessage, buildOwnerMessage, type MessageBody } from "../domain/owner-message.ts";
import type { LeadStateValues } from "../domain/snapshot.ts";
import { ownerDisplayName } from "../domain/summary.ts";
import { buildLeadGraph, initialState } from "../graph/build.ts";
import { renderSlackHtml } from "./slack-html.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CHROMIUM = "/usr/bin/chromium";
const LEAD_ID = "7f3c2a9e-5b1d-4c8e-9a2f-0d6b1e4c7a35";
/** A Tuesday morning in Chicago, inside everyone's hours. */
const AT = new Date("2026-11-24T15:05:00.000Z");

async function sampleState(): Promise<LeadStateValues> {
  const cases = JSON.parse(readFileSync(`${ROOT}fixtures/leads_sample.json`, "utf8")) as Array<{
    id: string;
    payload: Record<string, unknown>;
  }>;
  const raw = cases.find((c) => c.id === "L001")?.payload;
  if (!raw) throw new Error("fixtures/leads_sample.json has no L001");
  const { deps, close } = await createEmbeddedDeps({ clock: () => AT });
  try {
    const graph = buildLeadGraph(deps);
    const config = { configurable: { thread_id: LEAD_ID } };
    await graph.invoke(initialState({ leadId: LEAD_ID, receivedAt: AT.toISOString(), raw }), config);
    // Read back, so a graph that stops to wait for the owner gives the same state as one that ends.
    return (await graph.getState(config)).values as LeadStateValues;
  } finally {
    await close();
  }
}

/** The sample's message, the same message after Accept, and the owner's name; also read by a test. */
export async function sampleMessages(): Promise<{
  message: MessageBody;
  decided: MessageBody;
  owner: string;
}> {
  const state = await sampleState();
  const { deps, close } = await createEmbeddedDeps();
  const routing = deps.routing();
  await close();
  const options = {
    ownerName: ownerDisplayName(state, routing),
    routing,
    crmUrl: "https://app.hubspot.com/contacts/21436587/record/0-1/90817263",
    crmLabel: "Open in HubSpot",
  };
  const message = buildOwnerMessage(state, options);
  const decided = buildDecidedMessage(
    state,
    { kind: "accept", by: "U07OWNER", at: new Date(AT.getTime() + 4 * 60_000).toISOString(), via: "slack" },
    options,
  );
  return { message, decided, owner: options.ownerName };
}

/** docs/slack-message.json's text. */
export function messageJson(message: MessageBody): string {
  return `${JSON.stringify({ text: message.text, blocks: message.blocks }, null, 2)}\n`;
}

async function main(): Promise<void> {
  const { message, decided, owner } = await sampleMessages();
  writeFileSync(`${ROOT}docs/slack-message.json`, messageJson(message));
  console.log("wrote docs/slack-message.json");
  if (process.argv.includes("--json")) return;
  await screenshot([message, decided], owner, `${ROOT}docs/slack-message.png`);
  console.log("wrote docs/slack-message.png");
}

async function screenshot(messages: MessageBody[], owner: string, file: string): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 760, height: 400 }, deviceScaleFactor: 1 });
    await page.setContent(
      renderSlackHtml(messages, {
        bot: "LeadGraph",
        time: "9:05 AM",
        users: { U07OWNER: owner },
        timeZone: "America/Chicago",
      }),
    );
    await page.locator("main").screenshot({ path: file });
  } finally {
    await browser.close();
  }
}

// Run as a script, not when a test imports the sample.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
