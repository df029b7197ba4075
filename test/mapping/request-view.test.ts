/**
 * The JSON body text every route reads (jsonBodyText): UTF-8 only, and nested no deeper than
 * MAX_JSON_NESTING, the depth replies may have too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FerryError } from '../../src/errors/index.js';
import { MAX_JSON_NESTING } from '../../src/exchange/index.js';
import { compileExtractor, jsonBodyText, parseJsonBody, RequestView } from '../../src/mapping/request-view.js';

const badJson = (re: RegExp) => (e: unknown) => e instanceof FerryError && e.code === 'FERRY_BAD_JSON' && e.status === 400 && re.test(e.message);
const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

test('invalid UTF-8 (inputs: a lone 0xff, a truncated 3-byte sequence, an encoded surrogate) → 400 FERRY_BAD_JSON, never U+FFFD', () => {
  for (const bytes of [
    [0x22, 0xff, 0x22],
    [0x22, 0xe2, 0x82, 0x22],
    [0x22, 0xed, 0xa0, 0x80, 0x22],
  ]) {
    assert.throws(() => jsonBodyText(Buffer.from(bytes)), badJson(/not valid UTF-8/), Buffer.from(bytes).toString('hex'));
  }
  assert.equal(jsonBodyText(Buffer.from('"€😀"')), '"€😀"');
});

test(`nesting: ${MAX_JSON_NESTING} levels pass, ${MAX_JSON_NESTING + 1} are refused, in both parsers; brackets inside strings do not count`, () => {
  assert.equal(jsonBodyText(Buffer.from(nested(MAX_JSON_NESTING))).length, 2 * MAX_JSON_NESTING);
  for (const mode of ['fast', 'lossless'] as const) {
    const req = (text: string) => ({
      method: 'POST',
      path: '/',
      rawQuery: '',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(text),
    });
    assert.ok(Array.isArray(parseJsonBody(req(nested(MAX_JSON_NESTING)), mode)));
    assert.throws(() => parseJsonBody(req(nested(MAX_JSON_NESTING + 1)), mode), badJson(/deeper than 256 levels/));
    assert.throws(() => parseJsonBody(req(`{"a":${nested(4000)}}`), mode), badJson(/deeper than/));
  }
  const inStrings = JSON.stringify({ s: '['.repeat(1000), t: '\\"[{'.repeat(300) });
  assert.equal(jsonBodyText(Buffer.from(inStrings)), inStrings);
});

test('attribute.X and metadata.NS.FIELD read what the ext_proc front end put on the request: own keys only, numbers as text, absent otherwise', () => {
  const req = {
    method: 'GET',
    path: '/',
    rawQuery: '',
    headers: {},
    body: undefined,
    attributes: { 'xds.route_name': 'orders', 'source.port': 40123 },
    metadata: { 'envoy.filters.http.jwt_authn': { sub: 'ann' } },
  };
  const view = new RequestView(req, {}, 'fast');
  assert.equal(compileExtractor('attribute.xds.route_name', false)(view), 'orders');
  assert.equal(compileExtractor('attribute.source.port', false)(view), '40123');
  assert.equal(compileExtractor('metadata.envoy.filters.http.jwt_authn.sub', false)(view), 'ann');
  // Inputs: an attribute Envoy did not send, a prototype member, a namespace that is not there.
  assert.equal(compileExtractor('attribute.request.id', false)(view), undefined);
  assert.equal(compileExtractor('attribute.constructor', false)(view), undefined);
  assert.equal(compileExtractor('metadata.other.sub', false)(view), undefined);
  // Through the HTTP front end there are no attributes at all.
  assert.equal(
    compileExtractor(
      'attribute.xds.route_name',
      false,
    )(new RequestView({ method: 'GET', path: '/', rawQuery: '', headers: {}, body: undefined }, {}, 'fast')),
    undefined,
  );
  assert.throws(() => compileExtractor('metadata.sub', false), /metadata\.NAMESPACE\.FIELD/);
});
