import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ensureEnvoyClient, validateBootstrap } from '../support/envoy-client.js';

// Envoy cannot run here (not packaged, no containers). The sample config is checked against
// go-control-plane's Bootstrap types instead: strict decoding (unknown fields and type URLs fail)
// plus Envoy's own validation rules, inside every typed_config.
const text = readFileSync(new URL('../../samples/envoy/envoy.yaml', import.meta.url), 'utf8');

before(async () => {
  await ensureEnvoyClient();
});

test('samples/envoy/envoy.yaml decodes and validates as an Envoy Bootstrap', async () => {
  assert.equal(await validateBootstrap(parse(text)), 'ok');
});

test('the check can fail: a misspelt field, a message_timeout over 1 h, an unknown typed_config', async () => {
  const cases: Array<[string, string, RegExp]> = [
    ['failure_mode_allow:', 'failure_mode_alow:', /unknown field "failure_mode_alow"/],
    ['message_timeout: 1s', 'message_timeout: 7200s', /MessageTimeout/],
    ['ext_proc.v3.ExternalProcessor', 'ext_proc.v3.ExternalProcesso', /unable to resolve/],
  ];
  for (const [from, to, expected] of cases) {
    assert.ok(text.includes(from), from);
    assert.match(await validateBootstrap(parse(text.replace(from, to))), expected, `input: ${from} → ${to}`);
  }
});

test('the ext_proc filter settings are the ones Ferry needs', () => {
  const cfg = parse(text);
  const hcm = cfg.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
  const filters = hcm.http_filters as Array<{ name: string; typed_config: Record<string, unknown> }>;
  assert.deepEqual(
    filters.map((f) => f.name),
    ['envoy.filters.http.ext_proc', 'envoy.filters.http.router'],
  );
  const ep = filters[0]!.typed_config as Record<string, any>;
  // The timers Ferry is told about (the comment's command line) are the filter's own.
  const seconds = (d: string): number => parseFloat(d) * (d.endsWith('ms') ? 0.001 : 1);
  const told = /--envoy-message-timeout-ms (\d+) --envoy-max-message-timeout-ms (\d+)/.exec(text);
  assert.ok(told, 'the sample says how to start Ferry with its timers');
  assert.equal(seconds(ep['message_timeout']) * 1000, Number(told[1]));
  assert.equal(seconds(ep['max_message_timeout']) * 1000, Number(told[2]));
  assert.ok(seconds(ep['max_message_timeout']) >= 30, 'overrides reach the longest route timeout of the sample mappings');
  assert.deepEqual(
    ep['metadata_options'].receiving_namespaces.untyped,
    ['envoy.filters.http.ext_proc'],
    "Envoy keeps the metadata Ferry's answers write",
  );
  assert.equal(ep['failure_mode_allow'], false);
  assert.equal(ep['allow_mode_override'], true);
  assert.deepEqual(
    { ...ep['processing_mode'] },
    {
      request_header_mode: 'SEND',
      response_header_mode: 'SKIP',
      request_body_mode: 'BUFFERED',
      response_body_mode: 'NONE',
      request_trailer_mode: 'SKIP',
      response_trailer_mode: 'SKIP',
    },
  );
  const cluster = (cfg.static_resources.clusters as Array<Record<string, any>>).find((c) => c['name'] === ep['grpc_service'].envoy_grpc.cluster_name);
  assert.ok(cluster, 'the grpc_service names a defined cluster');
  const opts = cluster['typed_extension_protocol_options']['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
  assert.ok(opts.explicit_http_config.http2_protocol_options, 'the ext_proc cluster speaks HTTP/2');
  assert.equal(cfg.static_resources.listeners[0].address.socket_address.port_value, 10000);
});

const tlsText = readFileSync(new URL('../../samples/envoy/envoy-tls.yaml', import.meta.url), 'utf8');

test('samples/envoy/envoy-tls.yaml (HTTPS listener, mTLS to Ferry) decodes and validates as an Envoy Bootstrap, TLS contexts included', async () => {
  assert.equal(await validateBootstrap(parse(tlsText)), 'ok');
  // The TLS contexts are looked into: a misspelt field there, or a bad SAN type, fails.
  const cases: Array<[string, string, RegExp]> = [
    ['trusted_ca:', 'trusted_cax:', /unknown field "trusted_cax"/],
    ['san_type: DNS', 'san_type: SAN_TYPE_UNSPECIFIED', /SanType/],
    ['tls.v3.UpstreamTlsContext', 'tls.v3.UpstreamTlsContex', /unable to resolve/],
  ];
  for (const [from, to, expected] of cases) {
    assert.ok(tlsText.includes(from), from);
    assert.match(await validateBootstrap(parse(tlsText.replace(from, to))), expected, `input: ${from} → ${to}`);
  }
});

test('the TLS variant keeps the filter settings of envoy.yaml and sends a client certificate to the ext_proc cluster', () => {
  const plain = parse(text);
  const cfg = parse(tlsText);
  const filters = (c: any): unknown => c.static_resources.listeners[0].filter_chains[0].filters;
  assert.deepEqual(filters(cfg), filters(plain));
  const cluster = (cfg.static_resources.clusters as Array<Record<string, any>>).find((c) => c['name'] === 'ferry_ext_proc')!;
  const ctx = cluster['transport_socket'].typed_config;
  assert.equal(ctx['@type'], 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext');
  assert.equal(ctx.common_tls_context.tls_certificates.length, 1, 'a client certificate (Ferry runs with --ext-proc-tls-client-ca)');
  assert.ok(ctx.common_tls_context.validation_context.trusted_ca.filename, 'Ferry is verified against a CA');
  assert.deepEqual(ctx.common_tls_context.alpn_protocols, ['h2']);
});

const fullDuplexText = readFileSync(new URL('../../samples/envoy/envoy-full-duplex.yaml', import.meta.url), 'utf8');

test('samples/envoy/envoy-full-duplex.yaml decodes and validates as an Envoy Bootstrap', async () => {
  assert.equal(await validateBootstrap(parse(fullDuplexText)), 'ok');
  // The check reads this file too (input: a misspelt request_attributes).
  assert.match(
    await validateBootstrap(parse(fullDuplexText.replace('request_attributes:', 'request_atributes:'))),
    /unknown field "request_atributes"/,
  );
});

test('the full-duplex sample streams the body both ways, sends trailers, attributes and the forwarded namespace, and asks for no mode_override', () => {
  const cfg = parse(fullDuplexText);
  const ep = cfg.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0].typed_config as Record<string, any>;
  assert.deepEqual(
    { ...ep['processing_mode'] },
    {
      request_header_mode: 'SEND',
      response_header_mode: 'SKIP',
      request_body_mode: 'FULL_DUPLEX_STREAMED',
      response_body_mode: 'NONE',
      // Envoy's API: in FULL_DUPLEX_STREAMED the trailer mode has to be SEND.
      request_trailer_mode: 'SEND',
      response_trailer_mode: 'SKIP',
    },
  );
  assert.equal(ep['allow_mode_override'], false, 'Envoy takes no mode_override in FULL_DUPLEX_STREAMED');
  assert.equal(ep['failure_mode_allow'], false);
  assert.deepEqual(ep['request_attributes'], ['xds.route_name', 'source.address']);
  assert.deepEqual(ep['metadata_options'].receiving_namespaces.untyped, ['envoy.filters.http.ext_proc']);
  assert.deepEqual(ep['metadata_options'].forwarding_namespaces.untyped, ['ferry.gateway']);
  assert.equal(cfg.static_resources.listeners[0].per_connection_buffer_limit_bytes, undefined, 'nothing is buffered by Envoy in this mode');
});
