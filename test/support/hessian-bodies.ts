/**
 * Test helper: Dubbo request bodies and response decoding built with hessian.js, an implementation
 * nobody on this project wrote, so transport tests do not depend on Ferry's own Hessian codec.
 */
import { createRequire } from 'node:module';

interface HessianEncoder {
  write(value: unknown): HessianEncoder;
  get(): Buffer;
}
interface HessianDecoder {
  read(withType?: boolean): unknown;
  position(): number;
}
interface HessianModule {
  EncoderV2: new () => HessianEncoder;
  DecoderV2: new (buf: Buffer) => HessianDecoder;
}

const require = createRequire(import.meta.url);
const hessian = require('hessian.js') as HessianModule;

export const ACCOUNT_SERVICE = 'com.example.bank.AccountService';
export const ACCOUNT_VERSION = '1.0.0';

/** A typed hessian value as hessian.js expects it. */
export interface Typed {
  $class: string;
  $: unknown;
}

/** Builds the body of a direct (non-generic) call on AccountService (protocols.md section B). */
export function accountCall(method: string, descriptor: string, args: readonly unknown[], attachments: Record<string, string> = {}): Buffer {
  const enc = new hessian.EncoderV2();
  enc.write('2.0.2');
  enc.write(ACCOUNT_SERVICE);
  enc.write(ACCOUNT_VERSION);
  enc.write(method);
  enc.write(descriptor);
  for (const arg of args) enc.write(arg);
  enc.write({ path: ACCOUNT_SERVICE, interface: ACCOUNT_SERVICE, version: ACCOUNT_VERSION, ...attachments });
  return enc.get();
}

export const pingBody = (): Buffer => accountCall('ping', '', []);
export const slowBody = (millis: number): Buffer => accountCall('slow', 'I', [{ $class: 'int', $: millis }]);
export const whoamiBody = (): Buffer => accountCall('whoami', '', []);
export const failBody = (message: string): Buffer => accountCall('fail', 'Ljava/lang/String;', [message]);
export const getAccountBody = (id: bigint | number): Buffer =>
  accountCall('getAccount', 'J', [{ $class: 'long', $: typeof id === 'bigint' ? id.toString() : id }]);

/** The decoded values of a status-20 response body: flag first (protocols.md section C), then value(s). */
export function decodeResult(body: Buffer): { flag: number; value: unknown; attachments: unknown } {
  const dec = new hessian.DecoderV2(body);
  const flag = dec.read() as number;
  let value: unknown;
  let attachments: unknown;
  if (flag === 0 || flag === 1 || flag === 3 || flag === 4) value = dec.read();
  if (flag >= 3 && flag <= 5) attachments = dec.read();
  return { flag, value, attachments };
}

/** Decodes the error message body of a response whose status is not 20. */
export function decodeErrorMessage(body: Buffer): string {
  return String(new hessian.DecoderV2(body).read());
}

/** Encodes arbitrary values into one hessian2 stream (for handcrafted frames). */
export function hessianValues(...values: unknown[]): Buffer {
  const enc = new hessian.EncoderV2();
  for (const v of values) enc.write(v);
  return enc.get();
}
