/**
 * The decision a waiting lead needs, for admins (the Slack buttons without Slack): accept, reassign or
 * decline a lead that waits for its owner; approve, route or nurture one that waits for review. Only the
 * actions that fit what the lead waits for are offered, a decline asks for its reason and a route for its
 * owner before its button is enabled, and the owners offered are routing.json's active owners.
 */
import { useEffect, useState } from "preact/hooks";
import { api, type LeadView, type Ownership } from "../api.ts";
import { time } from "../format.ts";
import { bodyChoices } from "../openapi.ts";

const ACTIONS_PATH = "/admin/leads/{id}/actions";

/** What each decline reason does, as the owner reads it. */
const REASON_TEXT: Record<string, string> = {
  wrong_territory: "Wrong territory: route it past me",
  not_a_buyer: "Not a buyer: nurture it",
  spam: "Spam: disqualify it",
  existing_customer: "Existing customer: give it to the account owner",
};

interface OwnerChoice {
  id: string;
  name?: string;
  active?: boolean;
}

export interface ActionBody {
  action: string;
  reason?: string;
  to?: string;
}

/** Whether the lead waits for a decision that an admin can make now. */
export function waitsForDecision(lead: LeadView): lead is LeadView & { ownership: Ownership } {
  return lead.status === "awaiting" && lead.ownership?.status === "awaiting";
}

const ownerLabel = (owners: OwnerChoice[], id: string | null | undefined) =>
  owners.find((o) => o.id === id)?.name ?? id ?? "nobody";

export function DecisionPanel(props: {
  lead: LeadView & { ownership: Ownership };
  busy: boolean;
  onAct: (body: ActionBody, done: string) => void;
}) {
  const { lead, busy, onAct } = props;
  const ownership = lead.ownership;
  const review = ownership.waitingFor === "review";
  const [reasons, setReasons] = useState<string[]>([]);
  const [owners, setOwners] = useState<OwnerChoice[]>([]);
  const [reason, setReason] = useState("");
  const [reassignTo, setReassignTo] = useState("");
  const [routeTo, setRouteTo] = useState("");
  useEffect(() => {
    void bodyChoices(ACTIONS_PATH, "reason").then(setReasons);
    api<{ routing: { config: { owners?: OwnerChoice[] } } }>("/admin/routing").then(
      (status) => setOwners((status.routing.config.owners ?? []).filter((o) => o.active !== false)),
      () => setOwners([]),
    );
  }, []);
  const others = owners.filter((o) => o.id !== ownership.ownerId);
  const sent = (what: string) => `${what} sent: the lead moves on once the queue has applied it.`;

  const ownerOptions = (list: OwnerChoice[]) => list.map((o) => ({ value: o.id, label: o.name ?? o.id }));

  return (
    <section class="decision" aria-labelledby="h-decision">
      <h2 id="h-decision">{review ? "Waiting for review" : "Waiting for the owner"}</h2>
      <p>
        {review ? (
          <>
            In review since {time(ownership.awaitingSince)}
            {lead.ownerId ? `; routed to ${ownerLabel(owners, lead.ownerId)}` : "; no owner was routed"}
          </>
        ) : (
          <>
            {ownerLabel(owners, ownership.ownerId)} was told {time(ownership.awaitingSince)}
          </>
        )}
        {ownership.deadline ? `; the SLA runs out ${time(ownership.deadline)}` : "; no SLA"}.
      </p>
      {review ? (
        <>
          <p class="button-row">
            <button
              type="button"
              disabled={busy || !lead.ownerId}
              title={lead.ownerId ? undefined : "No routed owner: route the lead to someone below"}
              onClick={() => onAct({ action: "approve" }, sent("Approve"))}
            >
              Approve
            </button>
            <button
              type="button"
              disabled={busy}
              onClick={() => onAct({ action: "nurture" }, sent("Nurture"))}
            >
              Nurture
            </button>
          </p>
          <ChoiceRow
            id="route-to"
            label="Route to"
            placeholder="choose an owner"
            options={ownerOptions(owners)}
            value={routeTo}
            onChange={setRouteTo}
            button="Route"
            disabled={busy || routeTo === ""}
            onClick={() => onAct({ action: "route", to: routeTo }, sent("Route"))}
          />
        </>
      ) : (
        <>
          <p class="button-row">
            <button type="button" disabled={busy} onClick={() => onAct({ action: "accept" }, sent("Accept"))}>
              Accept
            </button>
          </p>
          <ChoiceRow
            id="reassign-to"
            label="Reassign to"
            placeholder="the next in the pool"
            options={ownerOptions(others)}
            value={reassignTo}
            onChange={setReassignTo}
            button="Reassign"
            disabled={busy}
            onClick={() =>
              onAct({ action: "reassign", ...(reassignTo ? { to: reassignTo } : {}) }, sent("Reassign"))
            }
          />
          <ChoiceRow
            id="decline-reason"
            label="Decline because"
            placeholder="choose a reason"
            options={reasons.map((r) => ({ value: r, label: REASON_TEXT[r] ?? r }))}
            value={reason}
            onChange={setReason}
            button="Decline"
            disabled={busy || reason === ""}
            onClick={() => onAct({ action: "decline", reason }, sent("Decline"))}
          />
        </>
      )}
    </section>
  );
}

/** A labelled choice (empty: `placeholder`) and the button that acts on it. */
function ChoiceRow(props: {
  id: string;
  label: string;
  placeholder: string;
  options: Array<{ value: string; label: string }>;
  value: string;
  onChange: (value: string) => void;
  button: string;
  disabled: boolean;
  onClick: () => void;
}) {
  return (
    <div class="decide">
      <label for={props.id}>{props.label}</label>
      <select id={props.id} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
        <option value="">{props.placeholder}</option>
        {props.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      <button type="button" disabled={props.disabled} onClick={props.onClick}>
        {props.button}
      </button>
    </div>
  );
}
