// The AckGate against a stand-in for MQTT.js' client: the PUBACK path (`_sendPacket`), its socket and 'close'.
import { EventEmitter } from "node:events";
import { expect } from "chai";
import type { MqttClient } from "mqtt";
import { AckGate } from "../../bridge/mqtt/ack-gate.js";

class FakeClient extends EventEmitter {
  readonly sent: number[] = [];
  readonly stream = { cork: () => undefined, uncork: () => undefined };
  _sendPacket(packet: { cmd: string; messageId?: number }, cb?: () => void): void {
    if (packet.cmd === "puback") this.sent.push(packet.messageId!);
    cb?.();
  }

  /** What MQTT.js does for an incoming QoS1 PUBLISH: 'message' (where the bridge tracks it), then the PUBACK. */
  receive(gate: AckGate, messageId: number, work: Promise<void>): { pumpAdvanced: boolean } {
    const state = { pumpAdvanced: false };
    gate.track(messageId, work);
    this._sendPacket({ cmd: "puback", messageId }, () => (state.pumpAdvanced = true));
    return state;
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("AckGate", () => {
  it("sends PUBACKs in the order the messages arrived, whatever order they are handled in", async () => {
    const client = new FakeClient();
    const gate = new AckGate(client as unknown as MqttClient, 100);
    const work = [deferred(), deferred(), deferred(), deferred()];
    work.forEach((w, i) => client.receive(gate, i + 1, w.promise));
    work[2]!.resolve();
    work[3]!.resolve();
    await settle();
    expect(client.sent).to.deep.equal([]);
    work[0]!.resolve();
    await settle();
    expect(client.sent).to.deep.equal([1]);
    work[1]!.resolve();
    await settle();
    expect(client.sent).to.deep.equal([1, 2, 3, 4]);
    expect(gate.inFlight).to.equal(0);
  });

  it("holds the packet pump at maxInFlight unacknowledged messages, and lets it go when the head is acknowledged", async () => {
    const client = new FakeClient();
    const gate = new AckGate(client as unknown as MqttClient, 2);
    const first = deferred();
    const second = deferred();
    expect(client.receive(gate, 1, first.promise).pumpAdvanced).to.equal(true);
    const atLimit = client.receive(gate, 2, second.promise);
    expect(atLimit.pumpAdvanced).to.equal(false);
    // Handled but behind an unhandled one: still unacknowledged, so the pump stays held.
    second.resolve();
    await settle();
    expect(atLimit.pumpAdvanced).to.equal(false);
    first.resolve();
    await settle();
    expect(client.sent).to.deep.equal([1, 2]);
    expect(atLimit.pumpAdvanced).to.equal(true);
  });

  it("never sends a held PUBACK on a later connection", async () => {
    const client = new FakeClient();
    const gate = new AckGate(client as unknown as MqttClient, 10);
    const work = deferred();
    client.receive(gate, 7, work.promise);
    client.emit("close");
    work.resolve();
    await settle();
    expect(client.sent).to.deep.equal([]);
    client.receive(gate, 7, Promise.resolve());
    await settle();
    expect(client.sent).to.deep.equal([7]);
  });
});
