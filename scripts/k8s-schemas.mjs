// Writes the JSON schemas kubeconform checks the Helm chart's output against, from Kubernetes' own
// OpenAPI document (api/openapi-spec/swagger.json of the k8s.io/kubernetes module) and the
// ServiceMonitor CRD of the prometheus-operator module, both from the Go module proxy (these machines
// cannot reach the schema repositories kubeconform downloads from by default).
//
//   node scripts/k8s-schemas.mjs SWAGGER_JSON SERVICEMONITOR_CRD_YAML OUT_DIR
//
// One standalone file per kind, named as kubeconform's default template asks
// (`{{ .ResourceKind }}{{ .KindSuffix }}.json`: deployment-apps-v1.json, service-v1.json,
// servicemonitor-monitoring-v1.json), with every $ref inlined and, as in kubeconform's "strict"
// schemas, no properties beyond the declared ones wherever an object declares its properties.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

const [swaggerFile, crdFile, outDir] = process.argv.slice(2);
if (swaggerFile === undefined || crdFile === undefined || outDir === undefined) {
  console.error('usage: node scripts/k8s-schemas.mjs SWAGGER_JSON SERVICEMONITOR_CRD_YAML OUT_DIR');
  process.exit(2);
}

const definitions = JSON.parse(readFileSync(swaggerFile, 'utf8')).definitions;

/** Kubernetes accepts a number or a string where the OpenAPI document says int-or-string or quantity. */
function scalar(schema) {
  if (schema.format === 'int-or-string') return { oneOf: [{ type: 'string' }, { type: 'integer' }] };
  if (schema.format === 'quantity' || schema.$ref === '#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity') {
    return { oneOf: [{ type: 'string' }, { type: 'number' }] };
  }
  return undefined;
}

/** The schema with $refs inlined; a reference back into its own chain (JSONSchemaProps) becomes `{}`. */
function inline(schema, chain) {
  if (schema === null || typeof schema !== 'object') return schema;
  if (Array.isArray(schema)) return schema.map((s) => inline(s, chain));
  const special = scalar(schema);
  if (special !== undefined) return { ...special, ...(schema.description ? { description: schema.description } : {}) };
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.replace('#/definitions/', '');
    if (chain.includes(name)) return {};
    const target = definitions[name];
    if (target === undefined) throw new Error(`unknown reference ${schema.$ref}`);
    return inline(target, [...chain, name]);
  }
  const out = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties') {
      out.properties = Object.fromEntries(Object.entries(value).map(([p, s]) => [p, inline(s, chain)]));
    } else if (key === 'items' || key === 'additionalProperties' || key === 'allOf' || key === 'oneOf' || key === 'anyOf') {
      out[key] = inline(value, chain);
    } else {
      out[key] = value;
    }
  }
  return strict(out);
}

/** Closes an object that lists its properties, unless it says unknown fields are kept. */
function strict(schema) {
  if (schema.properties !== undefined && schema.additionalProperties === undefined && schema['x-kubernetes-preserve-unknown-fields'] !== true) {
    schema.additionalProperties = false;
  }
  return schema;
}

function fileName(kind, group, version) {
  const suffix = group === '' ? `-${version}` : `-${group.split('.')[0]}-${version}`;
  return `${kind.toLowerCase()}${suffix}.json`.toLowerCase();
}

mkdirSync(outDir, { recursive: true });
let written = 0;
for (const [name, definition] of Object.entries(definitions)) {
  const kinds = definition['x-kubernetes-group-version-kind'];
  if (!Array.isArray(kinds) || kinds.length !== 1) continue; // shared types (DeleteOptions, WatchEvent) are not resources
  const [{ group, version, kind }] = kinds;
  const schema = inline(definition, [name]);
  const apiVersion = group === '' ? version : `${group}/${version}`;
  schema.properties.apiVersion = { type: 'string', enum: [apiVersion] };
  schema.properties.kind = { type: 'string', enum: [kind] };
  schema.required = [...new Set([...(schema.required ?? []), 'apiVersion', 'kind'])];
  writeFileSync(path.join(outDir, fileName(kind, group, version)), JSON.stringify(schema));
  written++;
}

// The CRD's own structural schema, closed the same way.
function closeAll(schema) {
  if (schema === null || typeof schema !== 'object') return schema;
  if (Array.isArray(schema)) return schema.map(closeAll);
  const out = {};
  for (const [key, value] of Object.entries(schema)) {
    out[key] = key === 'properties' ? Object.fromEntries(Object.entries(value).map(([p, s]) => [p, closeAll(s)])) : closeAll(value);
  }
  return strict(out);
}
const crd = YAML.parse(readFileSync(crdFile, 'utf8'));
for (const v of crd.spec.versions) {
  const schema = closeAll(v.schema.openAPIV3Schema);
  schema.properties.apiVersion = { type: 'string', enum: [`${crd.spec.group}/${v.name}`] };
  schema.properties.kind = { type: 'string', enum: [crd.spec.names.kind] };
  schema.properties.metadata = inline({ $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }, []);
  writeFileSync(path.join(outDir, fileName(crd.spec.names.kind, crd.spec.group, v.name)), JSON.stringify(schema));
  written++;
}
console.log(`k8s-schemas: wrote ${written} schemas to ${outDir}`);
