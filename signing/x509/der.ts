// Just enough DER to splice structures that the asn1 schema classes would otherwise re-encode:
// signatures must cover the exact bytes that were parsed or built.
export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset just past the content. */
  end: number;
}

export function readTlv(buf: Buffer, offset = 0): Tlv {
  const tag = buf[offset];
  let length = buf[offset + 1];
  let contentStart = offset + 2;
  if (tag === undefined || length === undefined) throw new Error("truncated DER");
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new Error("unsupported DER length");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[contentStart + i];
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > buf.length) throw new Error("truncated DER");
  return { tag, start: offset, contentStart, end };
}

export function children(buf: Buffer, parent: Tlv): Tlv[] {
  const items: Tlv[] = [];
  for (let offset = parent.contentStart; offset < parent.end; ) {
    const item = readTlv(buf, offset);
    items.push(item);
    offset = item.end;
  }
  return items;
}

export const slice = (buf: Buffer, tlv: Tlv): Buffer => buf.subarray(tlv.start, tlv.end);

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), encodeLength(body.length), body]);
}

export const sequence = (...content: Buffer[]): Buffer => tlv(0x30, ...content);

export function pemToDer(pem: string, label: string): Buffer {
  const match = new RegExp(`-----BEGIN ${label}-----([\\s\\S]+?)-----END ${label}-----`).exec(pem);
  if (!match) throw new Error(`no ${label} PEM block found`);
  return Buffer.from(match[1].replace(/\s+/g, ""), "base64");
}

export function derToPem(der: Buffer, label: string): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
