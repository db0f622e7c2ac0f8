import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalCrm, LocalCrmError, loadCrmSeed } from "../tools/embedded/local-crm.ts";
import { countingBatch } from "./helpers/counting-batch.ts";

const seed = [
  { id: "co-1", name: "Acme GmbH", domain: "acme.de", ownerId: "7001", industry: "software", employees: 250 },
  { id: "co-2", name: "Globex", domain: "www.Globex.com" },
];

describe("LocalCrm in memory", () => {
  it("upserts by lower-cased email: same id on repeat, created only the first time", async () => {
    const crm = new LocalCrm({ seedCompanies: seed });

    const first = await crm.upsertContact({ email: "Jane.Doe@Acme.de", firstName: "Jane", leadId: "lead-1" });
    const again = await crm.upsertContact({ email: "jane.doe@acme.de ", title: "CTO", leadId: "lead-2" });
    const other = await crm.upsertContact({ email: "bob@acme.de", leadId: "lead-3" });

    expect(first.created).toBe(true);
    expect(again).toEqual({ contactId: first.contactId, created: false });
    expect(other.contactId).not.toBe(first.contactId);
    const contacts = await crm.contacts();
    expect(contacts).toHaveLength(2);
    expect(contacts.find((c) => c.id === first.contactId)).toMatchObject({
      email: "jane.doe@acme.de",
      firstName: "Jane",
      title: "CTO",
      leadId: "lead-2",
    });
    // The id does not reveal the email.
    expect(first.contactId).not.toContain("jane");
  });

  it("finds a contact's owner by email, any case; an unknown email is null", async () => {
    const crm = new LocalCrm();
    const { contactId } = await crm.upsertContact({ email: "jane@acme.de", leadId: "lead-1" });
    expect(await crm.findContactByEmail("Jane@Acme.de")).toEqual({ id: contactId });
    await crm.setOwner(contactId, "7001");
    expect(await crm.findContactByEmail("jane@acme.de")).toEqual({ id: contactId, ownerId: "7001" });
    expect(await crm.findContactByEmail("john@acme.de")).toBeNull();
  });

  it("reads a contact by id under HubSpot's property names; an unknown id is null", async () => {
    const crm = new LocalCrm();
    const { contactId } = await crm.upsertContact({
      email: "Jane@Acme.de",
      firstName: "Jane",
      title: "CTO",
      leadId: "lead-1",
    });

    expect(await crm.getContact(contactId, ["email", "firstname", "jobtitle", "phone"])).toEqual({
      id: contactId,
      properties: { email: "jane@acme.de", firstname: "Jane", jobtitle: "CTO" },
    });
    expect(await crm.getContact("12345", ["email"])).toBeNull();
  });

  it("stores owner, nurture status, notes and tasks", async () => {
    const crm = new LocalCrm();
    const { contactId } = await crm.upsertContact({ email: "a@acme.de", leadId: "lead-1" });

    await crm.setOwner(contactId, "7001");
    await crm.setNurtureStatus(contactId, "NURTURE");
    const { noteId } = await crm.addNote(contactId, "Scored 41 (cold)");
    const { taskId } = await crm.createTask(contactId, {
      subject: "Call",
      body: "Hot lead",
      dueAt: "2025-03-05T09:00:00Z",
      ownerId: "7001",
    });

    expect((await crm.contacts())[0]).toMatchObject({ ownerId: "7001", nurtureStatus: "NURTURE" });
    expect(await crm.notes()).toEqual([
      expect.objectContaining({ id: noteId, contactId, body: "Scored 41 (cold)" }),
    ]);
    expect(await crm.tasks()).toEqual([
      expect.objectContaining({
        id: taskId,
        contactId,
        subject: "Call",
        ownerId: "7001",
        status: "NOT_STARTED",
      }),
    ]);
  });

  it("rejects writes for an unknown contact", async () => {
    const crm = new LocalCrm();
    await expect(crm.addNote("lc-missing", "x")).rejects.toBeInstanceOf(LocalCrmError);
  });

  it("finds seeded companies by domain, ignoring case and www.", async () => {
    const crm = new LocalCrm({ seedCompanies: seed });

    expect(await crm.findCompanyByDomain("ACME.de")).toMatchObject({ id: "co-1", ownerId: "7001" });
    expect(await crm.findCompanyByDomain("globex.com")).toMatchObject({ id: "co-2", domain: "globex.com" });
    expect(await crm.findCompanyByDomain("nobody.io")).toBeNull();
  });
});

describe("LocalCrm in a shared SQLite database", () => {
  let dir: string;
  let path: string;
  const open: DatabaseSync[] = [];
  const database = () => {
    const db = new DatabaseSync(path);
    db.exec("PRAGMA busy_timeout = 5000");
    open.push(db);
    return db;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "leadgraph-crm-"));
    path = join(dir, "leadgraph.db");
  });

  afterEach(async () => {
    for (const db of open.splice(0)) db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("persists contacts, owner, notes and tasks across reopen", async () => {
    const before = new LocalCrm({ db: database() });
    const { contactId } = await before.upsertContact({
      email: "jane@acme.de",
      lastName: "Doe",
      leadId: "lead-1",
    });
    await before.setOwner(contactId, "7001");
    await before.addNote(contactId, "note");
    await before.createTask(contactId, { subject: "Call", body: "b", dueAt: "2025-03-05T09:00:00Z" });

    const after = new LocalCrm({ db: database() });

    expect(await after.contacts()).toEqual([
      expect.objectContaining({ id: contactId, email: "jane@acme.de", lastName: "Doe", ownerId: "7001" }),
    ]);
    expect(await after.notes()).toHaveLength(1);
    expect(await after.tasks()).toHaveLength(1);
    expect(await after.upsertContact({ email: "JANE@acme.de", leadId: "lead-2" })).toEqual({
      contactId,
      created: false,
    });
  });

  it("lets two connections (two processes) see each other's contacts and agree on ids", async () => {
    const a = new LocalCrm({ db: database() });
    const b = new LocalCrm({ db: database() });

    const [fromA, fromB] = await Promise.all([
      a.upsertContact({ email: "jane@acme.de", leadId: "lead-1" }),
      b.upsertContact({ email: "jane@acme.de", title: "CTO", leadId: "lead-2" }),
    ]);
    await b.upsertContact({ email: "bob@acme.de", leadId: "lead-3" });

    expect(fromB.contactId).toBe(fromA.contactId);
    expect([fromA.created, fromB.created].sort()).toEqual([false, true]);
    expect((await a.contacts()).map((c) => c.email).sort()).toEqual(["bob@acme.de", "jane@acme.de"]);
    expect((await a.contacts()).find((c) => c.id === fromA.contactId)?.title).toBe("CTO");
  });

  it("writes a note or task once per effect key, from any process, and finds it by that key", async () => {
    const a = new LocalCrm({ db: database() });
    const b = new LocalCrm({ db: database() });
    const { contactId } = await a.upsertContact({ email: "jane@acme.de", leadId: "lead-1" });
    expect(await b.findNote(contactId, "lead-1:crm:note")).toBeNull();

    const first = await a.addNote(contactId, "first", "lead-1:crm:note");
    const again = await b.addNote(contactId, "second", "lead-1:crm:note");
    expect(again).toEqual(first);
    expect(await b.findNote(contactId, "lead-1:crm:note")).toEqual(first);
    expect((await a.notes()).map((n) => [n.body, n.effectKey])).toEqual([["first", "lead-1:crm:note"]]);

    const task = { subject: "Call", body: "b", dueAt: "2025-03-05T09:00:00Z", effectKey: "lead-1:crm:task" };
    const madeTask = await a.createTask(contactId, task);
    expect(await b.createTask(contactId, { ...task, subject: "Again" })).toEqual(madeTask);
    expect(await b.findTask(contactId, "lead-1:crm:task")).toEqual(madeTask);
    expect(await a.findTask(contactId, "lead-2:crm:task")).toBeNull();
    expect(await a.tasks()).toHaveLength(1);
    // Without a key every write is a new record.
    await a.addNote(contactId, "loose");
    await a.addNote(contactId, "loose");
    expect(await a.notes()).toHaveLength(3);
  });
});

describe("loadCrmSeed", () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "leadgraph-seed-"));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads companies and normalises domains and ids", async () => {
    const path = join(dir, "crm-companies.json");
    await writeFile(path, JSON.stringify([{ id: 42, name: "Acme", domain: "WWW.Acme.de", ownerId: 7001 }]));

    expect(loadCrmSeed(path)).toEqual([{ id: "42", name: "Acme", domain: "acme.de", ownerId: "7001" }]);
  });

  it("names the bad entry", async () => {
    const path = join(dir, "crm-companies.json");
    await writeFile(
      path,
      JSON.stringify([
        { id: "1", name: "Acme", domain: "acme.de" },
        { id: "2", name: "" },
      ]),
    );

    expect(() => loadCrmSeed(path)).toThrow(/\[1\]/);
  });
});

describe("LocalCrm in the service's group commit", () => {
  it("writes contacts, owners, notes and tasks through the batch, each settling once committed", async () => {
    const { db, batch, runs, reader: open, close } = await countingBatch("crm");
    try {
      const crm = new LocalCrm({ db, batch });
      const { contactId, created } = await crm.upsertContact({ email: "jane@acme.de", leadId: "lead-1" });
      await crm.setOwner(contactId, "7001");
      const note = await crm.addNote(contactId, "hello", "lead-1:note");
      const again = await crm.addNote(contactId, "hello", "lead-1:note");
      await crm.createTask(contactId, {
        subject: "Call",
        body: "b",
        dueAt: "2025-03-05T10:00:00.000Z",
        effectKey: "lead-1:task",
      });
      expect(created).toBe(true);
      expect(again).toEqual(note);
      expect(runs()).toBe(5);
      // Committed: another connection reads them.
      const reader = open();
      expect(reader.prepare("SELECT owner_id FROM crm_contacts").get()?.owner_id).toBe("7001");
      expect(reader.prepare("SELECT count(*) AS n FROM crm_notes").get()?.n).toBe(1);
      expect(reader.prepare("SELECT count(*) AS n FROM crm_tasks").get()?.n).toBe(1);
      reader.close();
      await expect(crm.setOwner("lc-missing", "7001")).rejects.toBeInstanceOf(LocalCrmError);
    } finally {
      await close();
    }
  });
});
