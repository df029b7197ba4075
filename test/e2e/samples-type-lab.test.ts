/**
 * What Apache Dubbo 3.3 (hessian-lite 4.0.x) actually writes and reads for the types in DESIGN.md's
 * type table, observed through the sample TypeLabService with hand-built frames and hessian.js.
 * These are the wire facts Ferry's Hessian codec must match; each assertion is Java's own output.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { decodeResult, openRaw, type RawConnection } from '../support/raw-dubbo.js';

const LAB = 'com.example.lab.TypeLabService';
const STR = 'Ljava/lang/String;';
const HANDLE = 'com.alibaba.com.caucho.hessian.io.java8.';

describe('TypeLabService: how Dubbo writes and reads each type', () => {
  let provider: JavaProvider;
  let conn: RawConnection;

  before(async () => {
    provider = await startJavaProvider({ name: 'type-lab' });
    conn = await openRaw(provider.dubboPort);
  });
  after(async () => {
    await conn?.close().catch(() => {});
    await provider?.stop();
  });

  /** Calls a TypeLabService method and returns the decoded value (throws on anything else). */
  async function lab(method: string, descriptor: string, args: unknown[], withType = false): Promise<unknown> {
    const frame = await conn.call({ service: LAB, method, descriptor, args });
    assert.equal(frame.status, 20, `${method}: status ${frame.status}`);
    const r = decodeResult(frame.body, withType);
    assert.ok(r.flag === 4 || r.flag === 5, `${method}: result flag ${r.flag} (${String((r.exception as Error)?.message)})`);
    return r.value;
  }

  test('BigDecimal: written as {value: toString()} (exponent form kept), read from the same shape', async () => {
    assert.deepEqual(await lab('parseDecimal', STR, ['1E+3'], true), {
      $class: 'java.math.BigDecimal',
      $: { value: '1E+3' },
    });
    const sent = { $class: 'java.math.BigDecimal', $: { value: '12345678901234567890.12' } };
    assert.equal(await lab('describeDecimal', 'Ljava/math/BigDecimal;', [sent]), '12345678901234567890.12|scale=2');
    assert.equal(
      await lab('describeDecimal', 'Ljava/math/BigDecimal;', [{ $class: 'java.math.BigDecimal', $: { value: '2.50' } }]),
      '2.50|scale=2',
      'trailing zeros (scale) survive',
    );
  });

  test('BigInteger: written field by field (signum + big-endian int[] mag); {value} is silently read as 0', async () => {
    const written = (await lab('parseBigInteger', STR, ['-123456789012345678901234567890'], true)) as {
      $class: string;
      $: Record<string, unknown>;
    };
    assert.equal(written.$class, 'java.math.BigInteger');
    assert.deepEqual(Object.keys(written.$).sort(), [
      'bitCountPlusOne',
      'bitLengthPlusOne',
      'firstNonzeroIntNumPlusTwo',
      'lowestSetBitPlusTwo',
      'mag',
      'signum',
    ]);
    assert.equal(written.$['signum'], -1);
    const mag = written.$['mag'] as { $class: string; $: number[] };
    assert.equal(mag.$class, '[int');
    const fromMag = mag.$.reduce((acc, w) => (acc << 32n) | BigInt(w >>> 0), 0n);
    assert.equal(fromMag, 123456789012345678901234567890n);
    // Sending the same fields back reproduces the value.
    assert.equal(await lab('describeBigInteger', 'Ljava/math/BigInteger;', [written]), '-123456789012345678901234567890');
    // Hazard for Ferry: the BigDecimal-like {value} shape is accepted without error but yields 0.
    const wrongShape = { $class: 'java.math.BigInteger', $: { value: '42' } };
    assert.equal(await lab('describeBigInteger', 'Ljava/math/BigInteger;', [wrongShape]), '0');
  });

  test('java.time: LocalDate/LocalTime/LocalDateTime/Instant travel as hessian-lite *Handle objects', async () => {
    assert.deepEqual(await lab('parseLocalDate', STR, ['2024-02-29'], true), {
      $class: `${HANDLE}LocalDateHandle`,
      $: { year: 2024, month: 2, day: 29 },
    });
    const ldt = (await lab('parseLocalDateTime', STR, ['2024-02-29T12:00:00.5'])) as Record<string, unknown>;
    assert.deepEqual(ldt, {
      date: { year: 2024, month: 2, day: 29 },
      time: { hour: 12, minute: 0, second: 0, nano: 500_000_000 },
    });
    assert.deepEqual(await lab('parseInstant', STR, ['2024-02-29T12:00:00.5Z'], true), {
      $class: `${HANDLE}InstantHandle`,
      $: { seconds: 1709208000, nanos: 500_000_000 },
    });
    assert.deepEqual(await lab('parseLocalTime', STR, ['23:59:59.999999999'], true), {
      $class: `${HANDLE}LocalTimeHandle`,
      $: { hour: 23, minute: 59, second: 59, nano: 999_999_999 },
    });
    // And Java reads the same handles back into the java.time value.
    const sentLdt = {
      $class: `${HANDLE}LocalDateTimeHandle`,
      $: {
        date: { $class: `${HANDLE}LocalDateHandle`, $: { year: 2021, month: 6, day: 30 } },
        time: { $class: `${HANDLE}LocalTimeHandle`, $: { hour: 23, minute: 59, second: 59, nano: 123456789 } },
      },
    };
    assert.equal(await lab('describeLocalDateTime', 'Ljava/time/LocalDateTime;', [sentLdt]), '2021-06-30T23:59:59.123456789');
    const sentInstant = { $class: `${HANDLE}InstantHandle`, $: { seconds: { $class: 'long', $: 1709208000 }, nanos: 500_000_000 } };
    assert.equal(await lab('describeInstant', 'Ljava/time/Instant;', [sentInstant]), '2024-02-29T12:00:00.500Z');
  });

  test('java.util.Date: a hessian date (0x4a ms form) both ways', async () => {
    const frame = await conn.call({ service: LAB, method: 'parseDate', descriptor: 'J', args: [{ $class: 'long', $: 1709208000500 }] });
    assert.equal(frame.body.subarray(1, 10).toString('hex'), '4a0000018df4bc57f4');
    assert.equal(await lab('describeDate', 'Ljava/util/Date;', [new Date(1709208000500)]), '1709208000500');
  });

  test('enum: {name} object of the enum class both ways', async () => {
    const currency = { $class: 'com.example.bank.Currency', $: { name: 'EUR' } };
    assert.deepEqual(await lab('parseCurrency', STR, ['EUR'], true), currency);
    assert.equal(await lab('describeCurrency', 'Lcom/example/bank/Currency;', [currency]), 'EUR|2');
  });

  test('Long vs Integer: generics are erased, so a hessian int in a List<Long> stays an Integer', async () => {
    assert.equal(
      await lab('describeLongList', 'Ljava/util/List;', [[7, { $class: 'long', $: 7 }, { $class: 'long', $: '9223372036854775807' }]]),
      'Integer:7,Long:7,Long:9223372036854775807',
    );
    assert.equal(
      await lab('describeMap', 'Ljava/util/Map;', [{ a: 1, b: { $class: 'long', $: 2 }, c: 'x', d: 1.5, e: null, f: [1] }]),
      'a=Integer:1,b=Long:2,c=String:x,d=Double:1.5,e=null,f=ArrayList:[1]',
    );
  });

  test('primitives: a long, double or float parameter needs the right hessian type (descriptor IJDZSBFC)', async () => {
    const args = [1, { $class: 'long', $: 2 }, { $class: 'double', $: 3 }, true, 5, 6, { $class: 'double', $: 7.5 }, 'x'];
    assert.equal(await lab('describePrimitives', 'IJDZSBFC', args), '1|2|3.0|true|5|6|7.5|x');
    assert.equal(
      await lab('describeBoxed', 'Ljava/lang/Integer;Ljava/lang/Long;Ljava/lang/Double;Ljava/lang/Boolean;', [null, null, null, null]),
      'null|null|null|null',
    );
  });

  test('strings: UTF-16 length and code points as Java sees them (emoji = 2 units)', async () => {
    assert.equal(await lab('describeString', STR, ['a\ud83d\ude00']), '3|61 1f600');
  });

  test('collections: Set<Long> comes back as a typed java.util.HashSet list, long[] as [long', async () => {
    assert.deepEqual(
      await lab(
        'echoLongSet',
        'Ljava/util/Set;',
        [
          [
            { $class: 'long', $: 1 },
            { $class: 'long', $: 2 },
          ],
        ],
        true,
      ),
      {
        $class: 'java.util.HashSet',
        $: [1, 2],
      },
    );
    assert.deepEqual(await lab('echoLongArray', '[J', [{ $class: '[long', $: [1, 2] }], true), { $class: '[long', $: [1, 2] });
    assert.deepEqual(await lab('echoBytes', '[B', [Buffer.from('00ff10', 'hex')]), Buffer.from('00ff10', 'hex'));
  });

  test("the sample's own POJO passes Dubbo 3.3's STRICT class check (Transfer round trip)", async () => {
    const transfer = {
      $class: 'com.example.bank.Transfer',
      $: {
        to: { $class: 'long', $: 3 },
        amount: { $class: 'java.math.BigDecimal', $: { value: '10.00' } },
        currency: { $class: 'com.example.bank.Currency', $: { name: 'USD' } },
        memo: 'hi',
        executeAt: null,
        tags: ['a', 'b'],
      },
    };
    assert.equal(
      await lab('describeTransfer', 'Lcom/example/bank/Transfer;', [transfer]),
      'to=3|amount=10.00|currency=USD|memo=hi|executeAt=null|tags=[a, b]',
    );
  });

  test('STRICT class check: a class outside the allow list (com.evil.Gadget) is never instantiated, and no error is raised', async () => {
    // Sent as the Transfer argument: read into the declared class, fields matched by name.
    assert.equal(
      await lab('describeTransfer', 'Lcom/example/bank/Transfer;', [{ $class: 'com.evil.Gadget', $: { to: 1, junk: 'x' } }]),
      'to=1|amount=null|currency=null|memo=null|executeAt=null|tags=null',
    );
    // Inside a Map<String,Object>: it becomes a HashMap of its fields.
    assert.equal(await lab('describeMap', 'Ljava/util/Map;', [{ g: { $class: 'com.evil.Gadget', $: { x: 1 } } }]), 'g=HashMap:{x=1}');
  });
});
