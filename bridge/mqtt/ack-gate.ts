// Acknowledge a QoS1 message only once it has been handled (telemetry: its batch committed), and
// stop reading from the broker while too many messages are unacknowledged.
//
// MQTT.js sends PUBACK right after the 'message' event, and its documented hooks (customHandleAcks,
// handleMessage) hold the whole packet pump while they wait: one message per database commit. So the
// gate intercepts the client's outgoing PUBACK instead: the pump continues at once, the PUBACK is
// held until the message's work settles, and only when `maxInFlight` PUBACKs are held does the gate
// also hold the pump, so TCP back-pressure reaches the broker, which queues for our persistent
// session. Held PUBACKs belong to one connection: after a disconnect their packet ids mean nothing
// (the broker re-sends those messages with DUP), so they are dropped, never sent on the next one.
// A committed telemetry batch releases its PUBACKs all at once: they are corked into one socket write
// (one syscall instead of one per 4-byte PUBACK, which cost about 5% of the bridge's CPU at full load).
import type { MqttClient } from "mqtt";

interface Pending {
  epoch: number;
  settled: boolean;
  send?: () => void;
}

type SendPacket = (packet: { cmd: string; messageId?: number }, cb?: (error?: Error) => void, ...rest: unknown[]) => void;

export class AckGate {
  private epoch = 0;
  private readonly pending = new Map<number, Pending>();
  private resumePump: (() => void) | undefined;
  private corked: MqttClient["stream"] | undefined;

  constructor(private readonly client: MqttClient, private readonly maxInFlight: number) {
    const internals = client as unknown as { _sendPacket: SendPacket };
    const send = internals._sendPacket.bind(client) as SendPacket;
    internals._sendPacket = (packet, cb, ...rest) => {
      if (packet.cmd === "puback" && packet.messageId !== undefined && this.hold(packet.messageId, () => send(packet, undefined, ...rest), cb)) return;
      send(packet, cb, ...rest);
    };
    client.on("close", () => {
      this.epoch++;
      this.pending.clear();
      this.release();
    });
  }

  /** Messages whose PUBACK is held now. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Called from the 'message' event, which MQTT.js emits just before it sends the PUBACK. */
  track(messageId: number | undefined, work: Promise<void>): void {
    if (messageId === undefined) return;
    const entry: Pending = { epoch: this.epoch, settled: false };
    this.pending.set(messageId, entry);
    void work.finally(() => {
      entry.settled = true;
      if (entry.epoch !== this.epoch) return;
      if (this.pending.get(messageId) === entry) this.pending.delete(messageId);
      if (entry.send) this.sendCorked(entry.send);
      if (this.pending.size < this.maxInFlight) this.release();
    });
  }

  private hold(messageId: number, send: () => void, advancePump: ((error?: Error) => void) | undefined): boolean {
    const entry = this.pending.get(messageId);
    if (!entry || entry.settled) return false;
    entry.send = send;
    if (this.pending.size >= this.maxInFlight) this.resumePump = () => advancePump?.();
    else advancePump?.();
    return true;
  }

  /** Sends now, into a socket corked until the current burst of settlements is over. */
  private sendCorked(send: () => void): void {
    if (!this.corked) {
      const stream = this.client.stream;
      stream.cork();
      this.corked = stream;
      // Ticks run after the microtask queue that settles a whole batch has drained.
      process.nextTick(() => {
        this.corked = undefined;
        stream.uncork();
      });
    }
    send();
  }

  private release(): void {
    const resume = this.resumePump;
    this.resumePump = undefined;
    resume?.();
  }
}
