/**
 * LeadGraph as a library: the graph on the embedded stand-ins, with this project's own CRM adapter, plus one
 * node of our own after routing (`tagVip`) and a state field for it. Runs one lead and checks the outcome;
 * exits non-zero when something is off.
 */
import assert from "node:assert/strict";
import {
  Annotation,
  createEmbeddedDeps,
  END,
  LeadStateAnnotation,
  type LeadStateValues,
  leadGraphNodes,
  MemorySaver,
  pathAfterRouting,
  START,
  StateGraph,
} from "leadgraph";
import { MemoryCrm } from "./memory-crm.ts";

// Our CRM already knows this company and who owns it: CRM owner 70009 is jonas.weber in LeadGraph's shipped
// routing.json, so the "existing-account" rule should give him the lead.
const crm = new MemoryCrm([
  { id: "acct-1", name: "Quillfeather Software", domain: "quillfeather.io", ownerId: "70009" },
]);
const { deps, adapters } = await createEmbeddedDeps({ overrides: { crm } });

// LeadGraph's state plus one field of ours.
const State = Annotation.Root({
  ...LeadStateAnnotation.spec,
  /** A hot lead from a company we already sell to. */
  vip: Annotation<boolean>({ reducer: (_old, next) => next, default: () => false }),
});

/** Our node: hot leads from existing accounts are VIPs (it reads what routeLead decided). */
async function tagVip(state: LeadStateValues): Promise<{ vip: boolean }> {
  return { vip: state.score?.tier === "hot" && state.route?.kind === "account" };
}

const nodes = leadGraphNodes(deps);
const graph = new StateGraph(State)
  .addNode("capture", nodes.capture)
  .addNode("enrich", nodes.enrich)
  .addNode("scoreLead", nodes.scoreLead)
  .addNode("routeLead", nodes.routeLead)
  .addNode("tagVip", tagVip)
  .addNode("summarize", nodes.summarize)
  .addNode("notifyOwner", nodes.notifyOwner)
  .addNode("nurtureLead", nodes.nurtureLead)
  .addNode("syncCrm", nodes.syncCrm)
  .addEdge(START, "capture")
  .addEdge("capture", "enrich")
  .addEdge("enrich", "scoreLead")
  .addEdge("scoreLead", "routeLead")
  // The changed edge: routing now leads to our node, and the path is chosen after it.
  .addEdge("routeLead", "tagVip")
  .addConditionalEdges("tagVip", pathAfterRouting, ["summarize", "nurtureLead"])
  .addEdge("summarize", "notifyOwner")
  .addEdge("notifyOwner", "syncCrm")
  .addEdge("nurtureLead", "syncCrm")
  .addEdge("syncCrm", END)
  .compile({ checkpointer: new MemorySaver() });

const raw = {
  email: "ben.ostrowski@quillfeather.io",
  first_name: "Ben",
  last_name: "Ostrowski",
  company: "Quillfeather Software",
  title: "VP Engineering",
  country: "US",
  state: "CA",
  website: "quillfeather.io",
  source: "web",
  form: "demo-request",
};
const state = await graph.invoke(
  { leadId: "example-1", receivedAt: new Date().toISOString(), raw },
  { configurable: { thread_id: "example-1" } },
);

console.log(`ports: ${adapters.map((a) => `${a.port}=${a.adapter}`).join(", ")}`);
console.log(
  `lead ${state.leadId}: score ${state.score?.value} (${state.score?.tier}), owner ${state.route?.ownerId}` +
    ` by rule ${state.route?.ruleName}, path ${state.path}, vip ${state.vip}`,
);

assert.equal(adapters.find((a) => a.port === "crm")?.adapter, "example memory CRM");
assert.equal(state.route?.ruleName, "existing-account");
assert.equal(state.route?.ownerId, "jonas.weber");
assert.equal(state.path, "qualified");
assert.equal(state.vip, true);
assert.equal(state.notifications.length, 1);
const contact = crm.contacts.get(state.crm.contactId ?? "");
assert.ok(contact, "the contact is in our CRM");
assert.equal(contact.ownerId, "70009");
assert.equal(contact.notes.length, 1);
assert.equal(contact.tasks.length, 1);
console.log(
  `our CRM: contact ${contact.id} owned by ${contact.ownerId}, ${contact.notes.length} note, ${contact.tasks.length} task`,
);
