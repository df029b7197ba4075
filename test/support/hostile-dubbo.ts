/**
 * A hostile fake Dubbo provider (written here, test-only): a TCP server that speaks Dubbo framing
 * (16-byte header: magic 0xdabb, flag, status, request id, body length) and answers each request
 * by the method it names (read with hessian.js, not Ferry's decoder):
 *
 * - `ok`: a normal reply, the string "ok";
 * - `attachments`: "ok" plus 840 000 attachments, under the 8 MiB frame limit;
 * - `huge`: a reply frame declaring 64 MiB;
 * - `endless`: a reply declaring 4 MiB that sends a few bytes then nothing more (never ends);
 * - `lying`: a reply whose length field says 3 bytes while 40 follow (the rest is read as a frame);
 * - `garbage`: bytes that are no Dubbo frame at all;
 * - `drip`: a valid reply, one byte every 200 ms (past the route's timeout);
 * - `deepList`, `deepMap`, `deepObject`: a value nested {@link DEEP_NESTING} levels deep (lists of one
 *   item, maps of one entry, objects of one field), far past Ferry's decode depth budget (256);
 * - `deepException`: an exception (result flag 0) whose `cause` chain is nested as deep;
 * - `refBomb`: 40 nested lists of two items, the second a reference to the first (2^40 values once expanded);
 * - `cycle`: a map holding references to itself and to a list that refers back to it (a cyclic graph);
 * - `badUuid`, `badLocale`: a java.util.UUID whose `value` is no UUID, a LocaleHandle whose `value` is
 *   no Locale.toString() text (Java never writes either);
 * - `wide`: a legitimate large reply, a list of {@link WIDE_ITEMS} `com.example.Item` objects
 *   (999 967 values as Ferry's reader counts them, just under the default budget of 1 000 000 per reply).
 *
 * Heartbeats are answered. Every socket is closed by `close()`.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { hessian } from './raw-dubbo.js';

export const HOSTILE_MODES = [
  'ok',
  'attachments',
  'huge',
  'endless',
  'lying',
  'garbage',
  'drip',
  'deepList',
  'deepMap',
  'deepObject',
  'deepException',
  'refBomb',
  'cycle',
  'badUuid',
  'badLocale',
  'wide',
] as const;

/** How deep the deep-nesting modes nest: 400 times the decode depth budget, still a body of a few hundred KB. */
export const DEEP_NESTING = 100_000;
export type HostileMode = (typeof HOSTILE_MODES)[number];

export interface HostileDubbo {
  readonly port: number;
  readonly address: string;
  /** Requests received, by method name. */
  readonly calls: Record<string, number>;
  close(): Promise<void>;
}

function header(flag: number, status: number, id: Buffer, length: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(0xdabb, 0);
  h[2] = flag;
  h[3] = status;
  id.copy(h, 4);
  h.writeUInt32BE(length, 12);
  return h;
}

/** A response body: result flag 1 (value) or 4 (value + attachments) and the string. */
function replyBody(value: string, attachments?: number): Buffer {
  const enc = new hessian.EncoderV2();
  if (attachments === undefined) {
    enc.write(1);
    enc.write(value);
    return enc.get() as Buffer;
  }
  enc.write(4);
  enc.write(value);
  const head = enc.get() as Buffer;
  // The map by hand (hessian.js would build a JS object of 840 000 keys): 'H' key value ... 'Z'.
  const parts: Buffer[] = [head, Buffer.from([0x48])];
  for (let i = 0; i < attachments; i++) {
    const k = i.toString(36);
    parts.push(Buffer.from([k.length]), Buffer.from(k, 'latin1'), Buffer.from([0x01, 0x76])); // value "v"
  }
  parts.push(Buffer.from([0x5a]));
  return Buffer.concat(parts);
}

/** A one-character-per-byte Hessian string of up to 31 ASCII characters. */
function shortString(text: string): Buffer {
  return Buffer.concat([Buffer.from([text.length]), Buffer.from(text, 'latin1')]);
}

/**
 * The hostile value bodies, by hand (hessian.js would recurse past its stack to write them): result
 * flag 0x91 (value) or 0x90 (exception), then the value.
 */
export function hostileValueBody(
  mode: 'deepList' | 'deepMap' | 'deepObject' | 'deepException' | 'refBomb' | 'cycle' | 'badUuid' | 'badLocale',
  depth = DEEP_NESTING,
): Buffer {
  const N = 0x4e; // null
  switch (mode) {
    case 'deepList':
      // 0x79: an untyped list of one item, the next list.
      return Buffer.concat([Buffer.from([0x91]), Buffer.alloc(depth, 0x79), Buffer.from([N])]);
    case 'deepMap':
      // 'H' key 0 (0x90) value ... 'Z'.
      return Buffer.concat([Buffer.from([0x91]), Buffer.alloc(2 * depth, Buffer.from([0x48, 0x90])), Buffer.from([N]), Buffer.alloc(depth, 0x5a)]);
    case 'deepObject':
    case 'deepException': {
      // 'C' class name, one field; then 0x60 (an instance of definition 0) whose field is the next instance.
      const [flag, name, field] = mode === 'deepObject' ? [0x91, 'com.example.Node', 'next'] : [0x90, 'java.lang.RuntimeException', 'cause'];
      const def = Buffer.concat([Buffer.from([0x43]), shortString(name), Buffer.from([0x91]), shortString(field)]);
      return Buffer.concat([Buffer.from([flag]), def, Buffer.alloc(depth, 0x60), Buffer.from([N])]);
    }
    case 'refBomb': {
      // L40 = [L39, ref L39], ..., L1 = [L0, ref L0], L0 = []. Lists are numbered as they open: L40 is
      // reference 0, L0 reference 40; the second items close from the inside out.
      const levels = 40;
      const closing: number[] = [];
      for (let ref = levels; ref >= 1; ref--) closing.push(0x51, 0x90 + ref);
      return Buffer.concat([Buffer.from([0x91]), Buffer.alloc(levels, 0x7a), Buffer.from([0x78]), Buffer.from(closing)]);
    }
    case 'badUuid':
    case 'badLocale': {
      // An object of the JDK value class with its one field holding what Java never writes.
      const [name, value] =
        mode === 'badUuid' ? ['java.util.UUID', 'not-a-uuid'] : ['com.alibaba.com.caucho.hessian.io.LocaleHandle', 'en US<script>'];
      const nameBytes = Buffer.from(name, 'latin1');
      return Buffer.concat([
        Buffer.from([0x91, 0x43, 0x30, nameBytes.length]),
        nameBytes,
        Buffer.from([0x91]),
        shortString('value'),
        Buffer.from([0x60]),
        shortString(value),
      ]);
    }
    case 'cycle':
      // {self: <ref 0>, list: [<ref 0>, <ref 1>]}: the map (reference 0) and the list (reference 1) refer to themselves and each other.
      return Buffer.concat([
        Buffer.from([0x91, 0x48]),
        shortString('self'),
        Buffer.from([0x51, 0x90]),
        shortString('list'),
        Buffer.from([0x7a, 0x51, 0x90, 0x51, 0x91]),
        Buffer.from([0x5a]),
      ]);
  }
}

/**
 * Items of the `wide` reply: with the result flag, the class definition's five, the list and each
 * item's object, id, name and price, 999 967 values as Ferry's reader counts them.
 */
export const WIDE_ITEMS = 249_990;
/** The class and fields of the `wide` reply's items. */
export const WIDE_ITEM_CLASS = 'com.example.Item';

/**
 * A value reply (flag 1) holding an untyped list of `items` Item objects {id: int, name: String,
 * price: double}, written by hand (hessian.js takes seconds for a quarter of a million objects):
 * 7 + 4 × items values, 27 bytes or so per item.
 */
export function wideReplyBody(items = WIDE_ITEMS): Buffer {
  const def = Buffer.concat([
    Buffer.from([0x43]),
    shortString(WIDE_ITEM_CLASS),
    Buffer.from([0x93]),
    shortString('id'),
    shortString('name'),
    shortString('price'),
  ]);
  const head = Buffer.alloc(6);
  head[0] = 0x58; // a fixed-length untyped list, its length an int
  head[1] = 0x49;
  head.writeInt32BE(items, 2);
  const parts: Buffer[] = [Buffer.from([0x91]), def, head];
  for (let i = 0; i < items; i++) {
    const item = Buffer.alloc(15);
    item[0] = 0x60; // an instance of definition 0
    item[1] = 0x49;
    item.writeInt32BE(i, 2);
    item[6] = 0x44;
    item.writeDoubleBE(i + 0.25, 7);
    const name = `item-${i}`;
    // id, name, price in the definition's order: the double goes after the name.
    parts.push(item.subarray(0, 6), shortString(name), item.subarray(6));
  }
  return Buffer.concat(parts);
}

function methodOf(body: Buffer): string {
  try {
    const dec = new hessian.DecoderV2(body);
    dec.read(); // dubbo version
    dec.read(); // path
    dec.read(); // version
    return String(dec.read());
  } catch {
    return '?';
  }
}

export async function startHostileDubbo(options: { attachments?: number } = {}): Promise<HostileDubbo> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const calls: Record<string, number> = {};
  // Built before any call: in a test the provider shares the event loop with Ferry.
  const attachmentsBody = replyBody('ok', options.attachments ?? 840_000);
  const valueBodies = new Map<string, Buffer>(
    (['deepList', 'deepMap', 'deepObject', 'deepException', 'refBomb', 'cycle', 'badUuid', 'badLocale'] as const).map((m) => [
      m,
      hostileValueBody(m),
    ]),
  );
  let wide: Buffer | undefined;
  const answer = (s: Socket, id: Buffer, method: string): void => {
    const ok = 0x02; // response, hessian2
    switch (method) {
      case 'attachments': {
        s.write(Buffer.concat([header(ok, 20, id, attachmentsBody.length), attachmentsBody]));
        return;
      }
      case 'huge':
        s.write(Buffer.concat([header(ok, 20, id, 64 * 1024 * 1024), Buffer.alloc(1024, 0x41)]));
        return;
      case 'endless':
        s.write(Buffer.concat([header(ok, 20, id, 4 * 1024 * 1024), Buffer.from([0x91, 0x52])]));
        return;
      case 'lying': {
        const body = Buffer.concat([replyBody('ok'), Buffer.alloc(36, 0x7f)]);
        s.write(Buffer.concat([header(ok, 20, id, 3), body]));
        return;
      }
      case 'garbage':
        s.write(Buffer.from('HTTP/1.1 200 OK\r\nthis is not dubbo at all\r\n\r\n'.repeat(4)));
        return;
      case 'drip': {
        const body = replyBody('ok');
        const bytes = Buffer.concat([header(ok, 20, id, body.length), body]);
        let i = 0;
        const t = setInterval(() => {
          if (s.destroyed || i >= bytes.length) {
            clearInterval(t);
            timers.delete(t);
            return;
          }
          s.write(bytes.subarray(i, ++i));
        }, 200);
        timers.add(t);
        return;
      }
      case 'wide': {
        wide ??= wideReplyBody();
        s.write(Buffer.concat([header(ok, 20, id, wide.length), wide]));
        return;
      }
      default: {
        const body = valueBodies.get(method) ?? replyBody('ok');
        s.write(Buffer.concat([header(ok, 20, id, body.length), body]));
      }
    }
  };
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 16) {
        if (buf.readUInt16BE(0) !== 0xdabb) {
          s.destroy();
          return;
        }
        const len = buf.readUInt32BE(12);
        if (buf.length < 16 + len) return;
        const flag = buf[2]!;
        const id = Buffer.from(buf.subarray(4, 12));
        const body = buf.subarray(16, 16 + len);
        buf = buf.subarray(16 + len);
        if (flag & 0x20) {
          // A heartbeat (event): answer with a null event body.
          s.write(Buffer.concat([header(0x22, 20, id, 1), Buffer.from([0x4e])]));
          continue;
        }
        const method = methodOf(Buffer.from(body));
        calls[method] = (calls[method] ?? 0) + 1;
        answer(s, id, method);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    calls,
    async close() {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
