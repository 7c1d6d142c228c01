// The largest MQTT packet the embedded broker reads (AERIE_MQTT_MAX_PACKET_BYTES). aedes has no such
// setting: its parser (mqtt-packet) buffers each packet whole before any hook sees it, so one 100 MB
// PUBLISH held 100 MB in Aerie's process. This cuts the sender's connection as soon as the packet's fixed
// header announces more than the limit, so at most one socket read of it is ever buffered (MQTT 5 servers
// do the same with Maximum Packet Size; MQTT 3.1.1 has no way to refuse a packet but closing).
// It wraps mqtt-packet's Parser._parseLength (aedes 1.x, mqtt-packet 9.x); test/bridge/malformed-battery.test.ts
// fails if an upgrade moves it, and startEmbeddedBroker refuses to start without it.
import type { Socket } from "node:net";

interface ParserInternals {
  _parseLength(): boolean;
  parse(buf: Buffer): number;
  packet: { length: number };
  _list: { length: number; consume(bytes: number): void };
}

/** True when the limit is in place for this connection. */
export function limitPacketSize(client: unknown, socket: Socket, maxBytes: number, onOversize: (bytes: number) => void): boolean {
  const parser = (client as { _parser?: ParserInternals } | undefined)?._parser;
  if (!parser || typeof parser._parseLength !== "function" || typeof parser.parse !== "function") return false;
  const parseLength = parser._parseLength;
  parser._parseLength = function limitedParseLength(this: ParserInternals): boolean {
    const complete = parseLength.call(this);
    if (complete && this.packet.length > maxBytes) {
      const announced = this.packet.length;
      // Nothing more of this connection is parsed or kept.
      this._list.consume(this._list.length);
      this.parse = () => 0;
      socket.destroy();
      onOversize(announced);
      return false;
    }
    return complete;
  };
  return true;
}
