/**
 * A realistic mapping folder for reload tests and benches: one file of shared types (POJOs and an
 * enum) and many files of one Dubbo service each, whose routes take and return the shared types, so
 * that routes in one file depend on declarations in another.
 */

/** The shared types file: `types.yaml`. `extraField` adds a field to the POJO every `returns:` names (a type change). */
export function sharedTypes(extraField?: string): string {
  return [
    'types:',
    '  com.example.set.Currency:',
    '    enum: [CNY, USD, EUR]',
    '  com.example.set.Money:',
    '    fields:',
    '      amount: java.math.BigDecimal',
    '      currency: com.example.set.Currency',
    '  com.example.set.Account:',
    '    fields:',
    '      id: long',
    '      owner: String',
    '      balance: com.example.set.Money',
    '      tags: List<String>',
    ...(extraField !== undefined ? [`      ${extraField}: String`] : []),
    '  com.example.set.Note:',
    '    fields:',
    '      text: String',
    '',
  ].join('\n');
}

/**
 * Service file number `n`: service `svcN` at `endpoint` and `routes` routes, alternating a GET that
 * returns an Account and a POST that takes a Money body. `variant` changes every route's path prefix
 * (an edit of this file that keeps it valid).
 */
export function serviceFile(n: number, routes: number, endpoint: string, variant = ''): string {
  const name = `svc${n}`;
  const out = [
    'services:',
    `  ${name}:`,
    '    protocol: dubbo',
    `    interface: com.example.set.Service${n}`,
    `    endpoints: [${endpoint}]`,
    '    timeout: 5s',
    'routes:',
  ];
  for (let i = 0; i < routes; i++) {
    if (i % 2 === 0) {
      out.push(
        `  - id: ${name}-get-${i}`,
        `    http: GET /${name}${variant}/r${i}/{id}`,
        `    call: ${name}.getAccount`,
        '    returns: com.example.set.Account',
        '    args:',
        '      - { from: path.id, type: long }',
        '      - { from: query.note, type: String, required: false }',
      );
    } else {
      out.push(
        `  - id: ${name}-post-${i}`,
        `    http: POST /${name}${variant}/r${i}/{id}`,
        `    call: ${name}.deposit`,
        '    args:',
        '      - { from: path.id, type: long }',
        '      - { from: body, type: com.example.set.Money }',
        '    errors:',
        '      com.example.set.NotFound: 404',
      );
    }
  }
  return out.join('\n') + '\n';
}

/** `files` service files (svc-000.yaml ...) of `routes` routes each, plus types.yaml, by file name. */
export function mappingSet(files: number, routes: number, endpoint: string): Record<string, string> {
  const set: Record<string, string> = { 'types.yaml': sharedTypes() };
  for (let n = 0; n < files; n++) set[serviceFileName(n)] = serviceFile(n, routes, endpoint);
  return set;
}

export function serviceFileName(n: number): string {
  return `svc-${String(n).padStart(3, '0')}.yaml`;
}
