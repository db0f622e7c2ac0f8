/**
 * Raw DEFLATE with a preset dictionary for the JSON a lead leaves in Redis: its payload and result (the
 * Redis lead store) and its checkpointed state (the Redis checkpointer's bundles). A few kilobytes of JSON
 * spend much of what deflate makes of them on the first copy of each key and fixed string; the dictionary
 * holds those, so only what is the lead's own is left to encode (issue 12: bytes per lead).
 *
 * What it holds: the JSON keys and fixed strings (node, channel and field names, enum values) that at least
 * 30% of the fixture leads' stored documents share, most common last; nothing from the RevOps config
 * (owners, rules, queues) or the fixtures' data, and no digits (times, ids, versions). FROZEN: stored values
 * name it by their marker byte, so a change needs a new dictionary beside this one and a new marker.
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";

const DICTIONARY = Buffer.from(
  [
    '"NURTURE""__input__":"__start__":"branch:to:capture":"branch:to:enrich":"branch:to:nurtureLead"',
    '"branch:to:nurtureLead":"branch:to:routeLead":"branch:to:scoreLead":"branch:to:syncCrm":"capture"',
    ':"channel_values":"channel_versions":"enrich":"loop""nurtureLead":"nurtureStatus":"parents"',
    ':"raw":"receivedAt":"route":"routeLead":"scoreLead":"step":"syncCrm":"ts":"versions_seen"',
    ':"other""queue":"postalCode":"lost""ownerSet":"won""state":"arr":"bullets":"note"',
    ':"outcome":"similarity":"lead.form""name":"adapter":"at":"awaiting""awaitingSince":"',
    'branch:to:awaitOwner""branch:to:notifyOwner""handoffs":"messageId":"outbox""ownership":"',
    'qualified""status":"waitingFor":"{""}]{""}""contactId":"noteId":"taskId":","":"',
    '":{"":{},""],""__interrupt__""branch:to:summarize""notifications""notifiedAt":"ownerId"',
    ':"round":"similarAccounts""since":"summary""}[{""enrichment.seniority""form":"enrichment.industry"',
    '"last_name":"first_name":"enrichment.employees""companyName":"firmographics""revenue":"',
    'techStack":"branch:to:syncCrm""crm""crm":"enrichment":"existingAccount":"existingContact"',
    ':"facts":"lead":"notifications":"replay":"returning":"scoringVersion":"warnings":"employees"',
    ':"industry":"generic""companyDomain":"domain":"company":"lead.region""department":"seniority"',
    ':"title":"lastName":"firstName":"fullName":"country":"region":"__start__""branch:to:capture"',
    '"branch:to:enrich""branch:to:routeLead""branch:to:scoreLead""c":"channel":"confidence":"',
    'configVersion":"derived""disposable":"email":"emailDomain":"empty""enrichment""evidence"',
    ':"explanation":"field":"freeMail":"greyZone":"id":"json""kind":"lead""leadId""leadId"',
    ':"owner":"path":"points":"provenance":"raw""reasons":"receivedAt""route""rule":"',
    'ruleName":"ruleScore":"score""score":"source":"text":"tier":"utm":"v":"value":"',
    'values":"warnings"',
  ].join(""),
  "utf8",
);

/** `bytes` deflated with the dictionary. */
export function deflateJson(bytes: Uint8Array): Buffer {
  return deflateRawSync(bytes, { dictionary: DICTIONARY });
}

/** Undoes `deflateJson`. */
export function inflateJson(bytes: Uint8Array): Buffer {
  return inflateRawSync(bytes, { dictionary: DICTIONARY });
}
