// hello → the device in Aerie's registry (Postgres) and as a target in hawkBit with its attributes.
// availability → the device's presence (online gauge, heartbeat candidates).
//
// Hellos are registered in batches (registry-writes.ts: one statement per table for the whole batch), because a
// fleet reconnecting after a broker restart says hello all at once. A hello is acknowledged once its batch is
// stored and hawkBit has the device with its attributes: new devices are created in bulk (DMF: THING_CREATED with
// the attributes; DDI: the Management API's array create, then the attributes per device over DDI, which has no
// bulk form, so that a campaign's attribute filter sees them). A contact only older than half a heartbeat
// period goes out afterwards without holding the hello: a known device whose hello did not change costs hawkBit
// nothing.
import type { DeviceEvent } from "../event-bus.js";
import type { BridgeContext, Extension } from "../extension.js";
import type { Availability, Hello } from "../protocol/schemas.js";
import { sha256Hex } from "../provisioning.js";
import { type AvailabilityRow, type HelloRow, type RegisteredRow, isIdentifierConflict, markHawkbitContact, writeAvailability, writeHellos } from "../registry-writes.js";

const MAX_BATCH = 1000;
/** Targets per Management API create request (hawkBit takes arrays). */
const CREATE_CHUNK = 500;
const CONTACT_FLUSH_MS = 200;

interface Entry {
  row: HelloRow;
  attributesSha256: string;
  settle: () => void;
}

export class RegistrationExtension implements Extension {
  readonly name = "registration";
  private readonly onHello = (event: DeviceEvent<Hello>) => this.enqueue(event);
  private readonly onAvailability = (event: DeviceEvent<Availability>) => this.enqueueAvailability(event);
  private queue: Entry[] = [];
  private availability: { row: AvailabilityRow; settle: () => void }[] = [];
  private writing: Promise<void> | undefined;
  private readonly followUps = new Set<Promise<void>>();
  private contacts: { controllerId: string; attributesSha256?: string }[] = [];
  private contactTimer: NodeJS.Timeout | undefined;

  constructor(private readonly ctx: BridgeContext) {}

  async start(): Promise<void> {
    this.ctx.bus.on("hello", this.onHello);
    this.ctx.bus.on("availability", this.onAvailability);
  }

  async stop(): Promise<void> {
    this.ctx.bus.off("hello", this.onHello);
    this.ctx.bus.off("availability", this.onAvailability);
    while (this.writing) await this.writing;
    await Promise.allSettled([...this.followUps]);
    clearTimeout(this.contactTimer);
    await this.flushContacts();
  }

  /** Attributes as hawkBit stores them: flat strings, the versions and identity included. */
  private attributesOf(hello: Hello): Record<string, string> {
    const attributes: Record<string, string> = { ...hello.attributes, updateClient: hello.updateClient };
    if (hello.hardware) attributes.hardware = hello.hardware;
    if (hello.compatible) attributes.compatible = hello.compatible;
    for (const [component, version] of Object.entries(hello.versions ?? {})) attributes[`version.${component}`] = version;
    return attributes;
  }

  private runningVersion(hello: Hello): string | undefined {
    const booted = hello.slots?.find((s) => s.state === "booted")?.version;
    return booted ?? hello.versions?.rootfs ?? Object.values(hello.versions ?? {})[0];
  }

  private enqueue({ controllerId, payload, receivedAt }: DeviceEvent<Hello>): Promise<void> {
    const attributes = this.attributesOf(payload);
    const row: HelloRow = {
      controllerId, hardware: payload.hardware ?? null, updateClient: payload.updateClient, attributes,
      secondaryIds: payload.secondaryIds ?? {}, runningVersion: this.runningVersion(payload) ?? null, receivedAt,
    };
    const done = new Promise<void>((resolve) => this.queue.push({ row, attributesSha256: sha256Hex(JSON.stringify(Object.entries(attributes).sort())), settle: resolve }));
    // One batch at a time; the hellos that arrive meanwhile form the next one (the same device is never in two
    // batches being written at once, so the later hello always wins).
    this.writing ??= this.drain();
    return done;
  }

  /** Availability goes in the same batches as hellos (a reconnecting fleet sends both at once). */
  private enqueueAvailability({ controllerId, payload, receivedAt }: DeviceEvent<Availability>): Promise<void> {
    const done = new Promise<void>((resolve) => this.availability.push({ row: { controllerId, online: payload.state === "online", receivedAt }, settle: resolve }));
    this.writing ??= this.drain();
    return done;
  }

  private async drain(): Promise<void> {
    try {
      // Lets the rest of this socket read join the first batch.
      await new Promise((resolve) => setImmediate(resolve));
      while (this.queue.length > 0 || this.availability.length > 0) {
        const presence = this.availability.splice(0, MAX_BATCH);
        if (presence.length > 0) {
          await this.storeAvailability(presence.map((p) => p.row));
          for (const p of presence) p.settle();
        }
        const batch = this.queue.splice(0, MAX_BATCH);
        if (batch.length === 0) continue;
        await this.register(batch).catch((error) => this.ctx.log.error({ err: (error as Error).message, hellos: batch.length }, "hello batch failed"));
        for (const entry of batch) entry.settle();
      }
    } finally {
      this.writing = undefined;
    }
  }

  private async register(entries: Entry[]): Promise<void> {
    // The latest hello per device (arrival order) is the one stored.
    const latest = new Map<string, Entry>();
    for (const entry of entries) latest.set(entry.row.controllerId, entry);
    let registered: RegisteredRow[];
    try {
      registered = await writeHellos(this.ctx.pool, [...latest.values()].map((e) => e.row));
    } catch (error) {
      if (!isIdentifierConflict(error) || latest.size === 1) {
        await this.refuse([...latest.values()], error);
        return;
      }
      // Some device claims another's secondary id: one by one, so only that hello is refused.
      for (const entry of latest.values()) await this.register([entry]);
      return;
    }
    await this.tellHawkbit(registered, latest);
    await this.ctx.bus.dispatch("devicesRegistered", registered.map((r) => ({ controllerId: r.controllerId, deviceId: r.deviceId })));
  }

  private async refuse(entries: Entry[], error: unknown): Promise<void> {
    const conflict = isIdentifierConflict(error);
    if (!conflict) this.ctx.metrics.bridgeErrors.inc({ stage: "registration" });
    for (const { row } of entries) {
      await this.ctx.deadLetters.record(this.ctx.topics.device(row.controllerId, "hello"), conflict ? "conflict" : "schema",
        conflict ? "a secondary id belongs to another device" : (error as Error).message, Buffer.from(JSON.stringify(row)), row.controllerId);
    }
  }

  private async tellHawkbit(registered: RegisteredRow[], latest: Map<string, Entry>): Promise<void> {
    const { channel, hawkbit, log, metrics, heartbeatMs } = this.ctx;
    const unknown = registered.filter((r) => r.hawkbitContactAt === null);
    if (unknown.length > 0) {
      try {
        if (channel.registerMany) {
          const devices = unknown.map((r) => ({ controllerId: r.controllerId, attributes: latest.get(r.controllerId)!.row.attributes }));
          await channel.registerMany(devices);
          this.contacted(unknown.map((r) => ({ controllerId: r.controllerId, attributesSha256: latest.get(r.controllerId)!.attributesSha256 })));
        } else {
          for (let i = 0; i < unknown.length; i += CREATE_CHUNK) {
            const chunk = unknown.slice(i, i + CREATE_CHUNK);
            metrics.hawkbitRequests.inc({ api: "mgmt" });
            await hawkbit.ensureTargets(chunk.map((r) => ({ controllerId: r.controllerId, name: r.controllerId })));
            this.contacted(chunk.map((r) => ({ controllerId: r.controllerId })));
          }
        }
      } catch (error) {
        // Registered in Aerie; the heartbeat (or the next hello) creates the target once hawkBit answers.
        metrics.bridgeErrors.inc({ stage: "registration" });
        log.warn({ devices: unknown.length, err: (error as Error).message }, "devices registered in Aerie, hawkBit not reachable yet");
        return;
      }
    }
    const now = Date.now();
    const attributeSends: Promise<void>[] = [];
    for (const r of registered) {
      const entry = latest.get(r.controllerId)!;
      const fresh = r.hawkbitContactAt === null && channel.registerMany !== undefined;
      if (fresh) continue;
      const changed = r.attributesSha256 !== entry.attributesSha256;
      const stale = r.hawkbitContactAt === null || now - r.hawkbitContactAt.getTime() > heartbeatMs / 2;
      if (changed) attributeSends.push(this.followUp(r.controllerId, entry, true));
      else if (stale) void this.followUp(r.controllerId, entry, false);
    }
    await Promise.all(attributeSends);
  }

  /** The attributes or a contact hawkBit should have; never rejects. */
  private followUp(controllerId: string, entry: Entry, changed: boolean): Promise<void> {
    const { channel, log, metrics } = this.ctx;
    const work = (async () => {
      try {
        // DDI: polling with the gateway token is the contact (and creates a target still missing).
        await channel.pollController(controllerId);
        if (changed) await channel.sendConfigData(controllerId, entry.row.attributes, "replace");
        this.contacted([{ controllerId, ...(changed ? { attributesSha256: entry.attributesSha256 } : {}) }]);
      } catch (error) {
        metrics.bridgeErrors.inc({ stage: "registration" });
        log.warn({ controllerId, err: (error as Error).message }, "device registered in Aerie, hawkBit not reachable yet");
      }
    })();
    this.followUps.add(work);
    void work.finally(() => this.followUps.delete(work));
    return work;
  }

  private contacted(contacts: { controllerId: string; attributesSha256?: string }[]): void {
    this.contacts.push(...contacts);
    this.contactTimer ??= setTimeout(() => {
      this.contactTimer = undefined;
      void this.flushContacts();
    }, CONTACT_FLUSH_MS);
  }

  private async flushContacts(): Promise<void> {
    const contacts = this.contacts.splice(0);
    await markHawkbitContact(this.ctx.pool, contacts).catch((error) => this.ctx.log.warn({ err: (error as Error).message }, "hawkBit contact times not stored"));
  }

  /** Retried until stored: the messages stay unacknowledged meanwhile. */
  private async storeAvailability(rows: AvailabilityRow[]): Promise<void> {
    for (let delay = 200; ; delay = Math.min(delay * 2, 5000)) {
      try {
        await writeAvailability(this.ctx.pool, rows);
        return;
      } catch (error) {
        this.ctx.metrics.bridgeErrors.inc({ stage: "registration" });
        this.ctx.log.warn({ err: (error as Error).message, rows: rows.length, retryInMs: delay }, "availability not stored; retrying");
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}
