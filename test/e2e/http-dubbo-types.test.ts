/**
 * Every row of the JSON ↔ Java type table, end to end: HTTP → Ferry → Apache Dubbo (Java, real
 * provider) → back. `echo` routes prove the round trip; `describe` routes prove what Java actually
 * held (class, scale, digits), so a symmetric encode/decode mistake cannot hide.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';

let provider: JavaProvider;
let ferry: TestFerry;

before(async () => {
  provider = await startJavaProvider({ name: 'types' });
  ferry = await startTestFerry({ dubboAddress: provider.address });
});

after(async () => {
  await ferry?.close();
  await provider?.stop();
});

/** POSTs a raw JSON text as the body and returns the raw response text (exact digits). */
async function post(path: string, jsonText: string): Promise<{ status: number; text: string; json: any }> {
  const r = await http(ferry.base, 'POST', path, jsonText);
  return { status: r.status, text: r.text, json: r.json };
}

async function echo(kind: string, jsonText: string, expectedText = jsonText): Promise<void> {
  const r = await post(`/lab/echo/${kind}`, jsonText);
  assert.equal(r.status, 200, `echo ${kind} ${jsonText}: ${r.text}`);
  assert.equal(r.text, expectedText, `echo ${kind} of ${jsonText}`);
}

async function described(kind: string, jsonText: string, expected: string): Promise<void> {
  const r = await post(`/lab/describe/${kind}`, jsonText);
  assert.equal(r.status, 200, `describe ${kind} ${jsonText}: ${r.text}`);
  assert.equal(r.json, expected, `what Java received for ${kind} ${jsonText}`);
}

async function rejected(kind: string, jsonText: string, jsonPath: string, pattern: RegExp): Promise<void> {
  const r = await post(`/lab/echo/${kind}`, jsonText);
  assert.equal(r.status, 400, `echo ${kind} of ${jsonText} should be refused: ${r.text}`);
  assert.equal(r.json.code, 'FERRY_BAD_ARGUMENT');
  assert.equal(r.json.argument, 'body');
  assert.equal(r.json.jsonPath, jsonPath);
  assert.equal(r.json.route, `lab-echo-${kind}`);
  assert.match(r.json.detail, pattern);
}

describe('booleans and integers', () => {
  test('boolean and Boolean (null allowed only for the boxed type)', async () => {
    await echo('boolean', 'true');
    await echo('boolean', 'false');
    await echo('boxed-boolean', 'null');
    await rejected('boolean', '"yes"', '$', /boolean/);
  });

  test('int, Integer, short, byte: in range, from numbers or integer strings', async () => {
    await echo('int', '-2147483648');
    await echo('int', '"42"', '42');
    await echo('integer', '2147483647');
    await echo('short', '-32768');
    await echo('byte', '127');
    await rejected('int', '2147483648', '$', /int/);
    await rejected('short', '40000', '$', /short/);
    await rejected('byte', '128', '$', /byte/);
    await rejected('int', '1.5', '$', /int/);
  });

  test('primitives of every kind arrive as Java holds them', async () => {
    await described(
      'primitives',
      '{"i":7,"l":9007199254740993,"d":0.1,"b":true,"s":-3,"by":5,"f":0.5,"c":"x"}',
      '7|9007199254740993|0.1|true|-3|5|0.5|x',
    );
    await described('boxed', '{"i":1,"l":2,"d":3.5,"b":false}', '1|2|3.5|false');
    await described('boxed', '{}', 'null|null|null|null');
  });
});

describe('long: the full int64 range, never through a double', () => {
  test('extremes from JSON numbers come back as strings beyond 2^53', async () => {
    await echo('long', '9223372036854775807', '"9223372036854775807"');
    await echo('long', '-9223372036854775808', '"-9223372036854775808"');
    await echo('long', '9007199254740993', '"9007199254740993"');
    await echo('long', '9007199254740991');
    await echo('boxed-long', '42');
    await echo('boxed-long', 'null');
  });

  test('Java received every digit', async () => {
    await described('long', '9223372036854775807', '9223372036854775807');
    await described('long', '"-9223372036854775808"', '-9223372036854775808');
    await described('long', '9007199254740993', '9007199254740993');
  });

  test('the string policy returns every long as a string', async () => {
    const r = await post('/lab/echo/long-as-string', '42');
    assert.equal(r.text, '"42"');
  });

  test('out of range or fractional longs are refused', async () => {
    await rejected('long', '9223372036854775808', '$', /long/);
    await rejected('long', '1.5', '$', /long/);
    await rejected('long', '"12abc"', '$', /long/);
  });
});

describe('floating point', () => {
  test('double and float', async () => {
    await echo('double', '0.1');
    await echo('double', '-1.5e-300');
    await echo('float', '0.5');
  });
});

describe('BigDecimal and BigInteger keep every digit', () => {
  test('a 30-digit BigDecimal sent as a JSON number', async () => {
    await echo('decimal', '123456789012345678901234567890.123456789', '"123456789012345678901234567890.123456789"');
    await described('decimal', '123456789012345678901234567890.123456789', '123456789012345678901234567890.123456789|scale=9');
  });

  test('decimal strings keep their scale and exponent', async () => {
    await echo('decimal', '"2000.50"', '"2000.50"');
    await described('decimal', '"0.10"', '0.10|scale=2');
    await described('decimal', '"1E+3"', '1E+3|scale=-3');
    await described('decimal', '-0.000000000000000000001', '-1E-21|scale=21');
    await rejected('decimal', '"12,50"', '$', /decimal/i);
  });

  test('BigInteger beyond 2^64', async () => {
    await echo('big-integer', '123456789012345678901234567890', '"123456789012345678901234567890"');
    await described('big-integer', '"-340282366920938463463374607431768211456"', '-340282366920938463463374607431768211456');
  });
});

describe('strings', () => {
  test('emoji (non-BMP), CJK and accents survive both ways', async () => {
    const s = 'pay 😀 中文 café 𝄞';
    await echo('string', JSON.stringify(s));
    const points = [...s].map((c) => c.codePointAt(0)!.toString(16)).join(' ');
    await described('string', JSON.stringify(s), `${s.length}|${points}`);
  });

  test('a 40 000-character string (chunked on the wire)', async () => {
    const s = '长'.repeat(20_000) + 'x😀'.repeat(10_000);
    await echo('string', JSON.stringify(s));
  });
});

describe('dates and times', () => {
  test('java.util.Date from ISO 8601 with an offset, or epoch ms', async () => {
    await echo('date', '"2024-02-29T12:34:56.789+08:00"', '"2024-02-29T04:34:56.789Z"');
    await described('date', '"2024-02-29T12:34:56.789+08:00"', String(Date.parse('2024-02-29T04:34:56.789Z')));
    await described('date', '1709181296789', '1709181296789');
    await rejected('date', '"yesterday"', '$', /date/i);
  });

  test('LocalDate, LocalDateTime, LocalTime, Instant as hessian-lite writes them', async () => {
    await echo('local-date', '"2024-02-29"');
    await described('local-date', '"2024-02-29"', '2024-02-29');
    await echo('local-date-time', '"2021-06-30T23:59:59.123456789"');
    await described('local-date-time', '"2021-06-30T23:59:59.123456789"', '2021-06-30T23:59:59.123456789');
    await echo('local-time', '"23:59:59.5"', '"23:59:59.500"');
    await described('local-time', '"07:05"', '07:05');
    await echo('instant', '"2024-02-29T12:34:56.123456789Z"');
    await described('instant', '"2024-02-29T12:34:56.123456789Z"', '2024-02-29T12:34:56.123456789Z');
  });
});

describe('enums, bytes, collections, maps', () => {
  test('enum by constant name', async () => {
    await echo('currency', '"EUR"');
    await described('currency', '"EUR"', 'EUR|2');
    await rejected('currency', '"GBP"', '$', /CNY, USD, EUR/);
  });

  test('byte[] as base64', async () => {
    await echo('bytes', '"AAEC/w=="');
    await described('bytes', '"AAEC/w=="', '000102ff');
  });

  test('List, Set, arrays', async () => {
    await echo('string-list', '["a","b","😀"]');
    const set = await post('/lab/echo/long-set', '[1, 9007199254740993]');
    assert.equal(set.status, 200, set.text);
    assert.deepEqual(set.json.map(String).sort(), ['1', '9007199254740993']);
    await echo('long-array', '[1,2,-3]');
    await echo('string-array', '["x",null,"z"]');
    await described('long-list', '[1, 9223372036854775807]', 'Long:1,Long:9223372036854775807');
    await rejected('string-list', '["a", 3]', '$[1]', /string/i);
  });

  test('Map<String,Object> and Map<String,BigDecimal>', async () => {
    await described(
      'map',
      '{"a":1,"b":"x","c":true,"d":1.5,"e":9007199254740993}',
      'a=Integer:1,b=String:x,c=Boolean:true,d=Double:1.5,e=Long:9007199254740993',
    );
    await echo('decimal-map', '{"x":"1.10","y":2.5}', '{"x":"1.10","y":"2.5"}');
    const nested = await post('/lab/echo/map', '{"list":[1,"two"],"obj":{"k":null}}');
    assert.equal(nested.status, 200, nested.text);
    assert.deepEqual(nested.json, { list: [1, 'two'], obj: { k: null } });
  });
});

describe('POJOs', () => {
  const transfer =
    '{"to":9007199254740993,"amount":"1234567890.123456789","currency":"USD","memo":"rent 🏠","executeAt":"2024-02-29T12:00:00","tags":["a","b"]}';

  test('a nested POJO with BigDecimal, LocalDateTime, enum and List, both directions', async () => {
    const r = await post('/lab/echo/transfer', transfer);
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /"to":"9007199254740993"/);
    assert.match(r.text, /"amount":"1234567890.123456789"/);
    assert.equal(r.json.currency, 'USD');
    assert.equal(r.json.memo, 'rent 🏠');
    assert.equal(r.json.executeAt, '2024-02-29T12:00');
    assert.deepEqual(r.json.tags, ['a', 'b']);
    await described(
      'transfer',
      transfer,
      'to=9007199254740993|amount=1234567890.123456789|currency=USD|memo=rent 🏠|executeAt=2024-02-29T12:00|tags=[a, b]',
    );
  });

  test('a list of POJOs', async () => {
    const r = await post('/lab/echo/transfers', `[${transfer}, {"to":1,"amount":0.5}]`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.length, 2);
    assert.equal(r.json[1].amount, '0.5');
    assert.equal(r.json[1].memo, null);
  });

  test('unknown fields and client type hints are refused, never honoured', async () => {
    await rejected('transfer', '{"to":1,"$class":"java.lang.ProcessBuilder"}', '$.$class', /unknown field|not a field/i);
    await rejected('transfer', '{"to":1,"amount":true}', '$.amount', /decimal/i);
    await rejected('transfers', '[{"to":1},{"to":"x"}]', '$[1].to', /long/);
  });

  test('null where Java allows it', async () => {
    await echo('transfer', 'null');
    await echo('string', 'null');
  });
});
