/**
 * The long connection's frame, `pbbp2.Frame`, hand-encoded for the fake (protobuf wire format, varints and
 * length-delimited fields only): SeqID=1 LogID=2 service=3 method=4 headers=5 {key=1 value=2}
 * payloadEncoding=6 payloadType=7 payload=8 LogIDNew=9.
 */
export interface Frame {
  SeqID: number;
  LogID: number;
  service: number;
  /** 0 control (ping/pong), 1 data (events and their acks). */
  method: number;
  headers: Array<{ key: string; value: string }>;
  payload?: Uint8Array;
}

function varint(value: number | bigint): Buffer {
  let n = BigInt(value);
  const out: number[] = [];
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return Buffer.from(out);
}

const key = (field: number, wire: number) => varint((field << 3) | wire);
const bytesField = (field: number, data: Uint8Array) =>
  Buffer.concat([key(field, 2), varint(data.length), data]);

export function encodeFrame(frame: Frame): Buffer {
  const parts = [
    key(1, 0),
    varint(frame.SeqID),
    key(2, 0),
    varint(frame.LogID),
    key(3, 0),
    varint(frame.service),
    key(4, 0),
    varint(frame.method),
  ];
  for (const h of frame.headers) {
    parts.push(
      bytesField(5, Buffer.concat([bytesField(1, Buffer.from(h.key)), bytesField(2, Buffer.from(h.value))])),
    );
  }
  if (frame.payload) parts.push(bytesField(8, frame.payload));
  return Buffer.concat(parts);
}

function fields(buf: Uint8Array): Array<[number, bigint | Uint8Array]> {
  const out: Array<[number, bigint | Uint8Array]> = [];
  let i = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= buf.length) throw new Error("truncated varint");
      const b = buf[i++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const tag = Number(readVarint());
    const field = tag >> 3;
    const wire = tag & 7;
    if (wire === 0) out.push([field, readVarint()]);
    else if (wire === 2) {
      const len = Number(readVarint());
      out.push([field, buf.subarray(i, i + len)]);
      i += len;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
  return out;
}

export function decodeFrame(buf: Uint8Array): Frame {
  const frame: Frame = { SeqID: 0, LogID: 0, service: 0, method: 0, headers: [] };
  for (const [field, value] of fields(buf)) {
    if (field === 1) frame.SeqID = Number(value);
    else if (field === 2) frame.LogID = Number(value);
    else if (field === 3) frame.service = Number(value);
    else if (field === 4) frame.method = Number(value);
    else if (field === 5 && value instanceof Uint8Array) {
      const h = Object.fromEntries(
        fields(value).map(([k, v]) => [k, Buffer.from(v as Uint8Array).toString("utf8")]),
      );
      frame.headers.push({ key: h[1] ?? "", value: h[2] ?? "" });
    } else if (field === 8 && value instanceof Uint8Array) frame.payload = value;
  }
  return frame;
}

export function header(frame: Frame, name: string): string | undefined {
  return frame.headers.find((h) => h.key === name)?.value;
}
