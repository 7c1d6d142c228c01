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
// PUBACKs leave in the order their PUBLISHes arrived, as MQTT 3.1.1 and 5 (§4.6) require: a message handled
// early waits for the ones before it. That is why the bridge gives messages that may wait for hawkBit a
// connection of their own (see index.ts): on this one, everything waits only for Postgres.
// A committed telemetry batch releases its PUBACKs all at once: they are corked into one socket write
// (one syscall instead of one per 4-byte PUBACK, which cost about 5% of the bridge's CPU at full load).
import type { MqttClient } from "mqtt";

interface Pending {
  messageId: number;
  epoch: number;
  settled: boolean;
  send?: () => void;
}

type SendPacket = (packet: { cmd: string; messageId?: number }, cb?: (error?: Error) => void, ...rest: unknown[]) => void;

export class AckGate {
  private epoch = 0;
  private readonly pending = new Map<number, Pending>();
  /** The held messages in arrival order; the head is the next PUBACK that may leave. */
  private queue: Pending[] = [];
  private head = 0;
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
      this.queue = [];
      this.head = 0;
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
    const entry: Pending = { messageId, epoch: this.epoch, settled: false };
    this.pending.set(messageId, entry);
    this.queue.push(entry);
    void work.finally(() => {
      entry.settled = true;
      if (entry.epoch !== this.epoch) return;
      this.flush();
    });
  }

  private hold(messageId: number, send: () => void, advancePump: ((error?: Error) => void) | undefined): boolean {
    const entry = this.pending.get(messageId);
    if (!entry || entry.send) return false;
    entry.send = send;
    if (this.pending.size >= this.maxInFlight) this.resumePump = () => advancePump?.();
    else advancePump?.();
    this.flush();
    return true;
  }

  /** Sends every PUBACK from the head of the queue whose message is handled, stopping at the first that is not. */
  private flush(): void {
    while (this.head < this.queue.length) {
      const entry = this.queue[this.head]!;
      if (!entry.settled || !entry.send) break;
      this.head++;
      if (this.pending.get(entry.messageId) === entry) this.pending.delete(entry.messageId);
      this.sendCorked(entry.send);
    }
    // Drop the sent prefix now and then, not on every PUBACK.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (this.pending.size < this.maxInFlight) this.release();
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
