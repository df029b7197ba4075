/**
 * The Ferry admin console: four pages over the admin port's JSON API (/admin/api/...), polled every
 * POLL_MS while the page is open. Everything it loads comes from the admin port (no CDN). Text from
 * the API is always set as text, never as HTML.
 */
import uPlot from 'uplot';

const POLL_MS = 2000;
/** Points kept per chart (two minutes at the poll rate). */
const HISTORY = 60;

type Page = 'routes' | 'upstreams' | 'config' | 'try';

interface RouteView {
  id: string;
  method: string;
  path: string;
  protocol: string;
  service: string;
  target: string;
  rpcMethod: string;
  args: Array<{ type: string; from: string }>;
  returns: string | null;
  source: { at: string };
}
interface RouteStats {
  route: string;
  requests: number;
  errors: Record<string, number>;
  rate: number | null;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
}
interface Endpoint {
  id: string;
  cluster: string;
  priority: number;
  weight: number;
  labels: Record<string, string>;
  connections: number;
  pending: number;
  stickyShare?: number;
  ejected: boolean;
  available: boolean;
}
interface ServiceView {
  service: string;
  protocol: string;
  balance: string;
  sticky?: string;
  endpoints: Endpoint[];
  registries: Array<{ cluster: string; priority: number; address: string; connected: boolean; origin?: string }>;
}
interface Problem {
  file?: string;
  line?: number;
  col?: number;
  message: string;
}
interface Reload {
  at: string;
  ok: boolean;
  routes?: number;
  problems?: Problem[];
}

// ---- small DOM helpers ----

type Child = Node | string | number | null | undefined | false;

function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'number' ? String(c) : c);
  return el;
}

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`no #${id}`);
  return el as T;
}

const at = (p: Problem): string => (p.file !== undefined ? `${p.file}:${p.line ?? 1}:${p.col ?? 1}` : '');

// ---- the API, with the admin token when the port asks for one ----

const TOKEN_KEY = 'ferry-admin-token';

function authHeaders(): Record<string, string> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { authorization: `Bearer ${token}` } : {};
}

class Unauthorized extends Error {}

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, { ...init, headers: { ...authHeaders(), ...(init.headers as Record<string, string> | undefined) } });
  if (res.status === 401) throw new Unauthorized('the admin port needs a token');
  if (!res.ok && !res.headers.get('content-type')?.includes('json')) throw new Error(`${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

function setStatus(text: string, bad = false): void {
  const s = byId('status');
  s.textContent = text;
  s.style.color = bad ? '#ffb4b4' : '';
}

// ---- charts ----

const times: number[] = [];
const totalRate: Array<number | null> = [];
const busiestP99: Array<number | null> = [];
const routeRates = new Map<string, Array<number | null>>();
let rateChart: uPlot | undefined;
let p99Chart: uPlot | undefined;
const sparks = new Map<string, uPlot>();

function chartWidth(el: HTMLElement): number {
  return Math.max(200, Math.floor(el.getBoundingClientRect().width) - 4);
}

function makeChart(el: HTMLElement, label: string, color: string, data: uPlot.AlignedData): uPlot {
  return new uPlot(
    {
      width: chartWidth(el),
      height: 150,
      legend: { show: false },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] } },
      axes: [{ size: 30, space: 90, values: (_u, splits) => splits.map((t) => new Date(t * 1000).toTimeString().slice(0, 8)) }, { size: 45 }],
      series: [{}, { label, stroke: color, fill: `${color}22`, width: 2, spanGaps: true }],
    },
    data,
    el,
  );
}

function spark(route: string, el: HTMLElement, values: Array<number | null>): void {
  const data: uPlot.AlignedData = [times.slice(-values.length), values];
  let chart = sparks.get(route);
  if (chart === undefined || !el.contains(chart.root)) {
    chart?.destroy();
    chart = new uPlot(
      {
        width: 120,
        height: 32,
        legend: { show: false },
        cursor: { show: false },
        select: { show: false, left: 0, top: 0, width: 0, height: 0 },
        scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        axes: [{ show: false }, { show: false }],
        series: [{}, { stroke: '#2557d6', fill: '#2557d622', width: 1.5, spanGaps: true }],
      },
      data,
      el,
    );
    sparks.set(route, chart);
  } else {
    chart.setData(data);
  }
}

function recordStats(stats: RouteStats[]): void {
  times.push(Date.now() / 1000);
  let total: number | null = null;
  let busiest: RouteStats | undefined;
  for (const s of stats) {
    if (s.rate !== null) total = (total ?? 0) + s.rate;
    if (s.rate !== null && s.rate > 0 && (busiest === undefined || s.rate > (busiest.rate ?? 0))) busiest = s;
    let series = routeRates.get(s.route);
    if (series === undefined) {
      series = new Array<number | null>(times.length - 1).fill(null);
      routeRates.set(s.route, series);
    }
    series.push(s.rate);
  }
  totalRate.push(total);
  busiestP99.push(busiest?.p99Ms ?? null);
  for (const series of routeRates.values()) {
    while (series.length < times.length) series.push(null);
    while (series.length > HISTORY) series.shift();
  }
  for (const a of [times, totalRate, busiestP99]) while (a.length > HISTORY) a.shift();
}

function drawCharts(): void {
  const rateEl = byId('chart-rate');
  const p99El = byId('chart-p99');
  rateChart ??= makeChart(rateEl, 'req/s', '#2557d6', [[], []]);
  p99Chart ??= makeChart(p99El, 'p99 ms', '#c62828', [[], []]);
  rateChart.setData([times, totalRate]);
  p99Chart.setData([times, busiestP99]);
}

addEventListener('resize', () => {
  rateChart?.setSize({ width: chartWidth(byId('chart-rate')), height: 150 });
  p99Chart?.setSize({ width: chartWidth(byId('chart-p99')), height: 150 });
});

// ---- pages ----

let routes: RouteView[] = [];
let stats = new Map<string, RouteStats>();

function renderRoutes(): void {
  const filter = byId<HTMLInputElement>('route-filter').value.trim().toLowerCase();
  const body = byId('routes').querySelector('tbody')!;
  const rows: HTMLTableRowElement[] = [];
  for (const r of routes) {
    const text = `${r.id} ${r.method} ${r.path} ${r.service} ${r.target} ${r.rpcMethod}`.toLowerCase();
    if (filter !== '' && !text.includes(filter)) continue;
    const s = stats.get(r.id);
    const errors = Object.entries(s?.errors ?? {});
    const trend = h('div', { class: 'spark' });
    rows.push(
      h(
        'tr',
        { 'data-route': r.id },
        h('td', {}, h('span', { class: 'method' }, r.method), ' ', h('code', {}, r.path), h('div', { class: 'muted' }, r.id)),
        h(
          'td',
          { 'data-label': 'Calls' },
          h('code', {}, `${r.target}.${r.rpcMethod}`),
          h('div', { class: 'types' }, h('code', {}, `(${r.args.map((a) => a.type).join(', ')})`), ' → ', h('code', {}, r.returns ?? '?')),
          h('div', { class: 'muted' }, `${r.protocol} · service ${r.service}`),
        ),
        h('td', { 'data-label': 'Defined at' }, h('code', { class: 'source' }, r.source.at)),
        h(
          'td',
          { 'data-label': 'Rate /s' },
          s?.rate !== null && s?.rate !== undefined ? s.rate.toFixed(2) : '–',
          h('div', { class: 'muted' }, `${s?.requests ?? 0} total`),
        ),
        h(
          'td',
          { 'data-label': 'p50 / p90 / p99 ms' },
          [s?.p50Ms, s?.p90Ms, s?.p99Ms].map((v) => (v === null || v === undefined ? '–' : v.toFixed(2))).join(' / '),
        ),
        h(
          'td',
          { 'data-label': 'Errors' },
          errors.length === 0
            ? h('span', { class: 'muted' }, 'none')
            : h('div', {}, ...errors.map(([code, n]) => h('div', { class: 'mono' }, `${code} ${n}`))),
        ),
        h('td', { 'data-label': 'Trend' }, trend),
      ),
    );
    const series = routeRates.get(r.id);
    if (series !== undefined && series.some((v) => v !== null && v > 0)) queueMicrotask(() => spark(r.id, trend, series));
  }
  for (const c of sparks.values()) c.destroy();
  sparks.clear();
  body.replaceChildren(...rows);
}

function endpointState(e: Endpoint): HTMLElement {
  if (e.ejected) return h('span', { class: 'badge ejected' }, 'ejected');
  return e.available ? h('span', { class: 'badge up' }, 'up') : h('span', { class: 'badge down' }, 'down');
}

function renderUpstreams(services: ServiceView[]): void {
  byId('services').replaceChildren(
    ...services.map((s) =>
      h(
        'div',
        { class: 'card', 'data-service': s.service },
        h(
          'h3',
          {},
          s.service,
          ' ',
          h('span', { class: 'muted' }, `${s.protocol} · ${s.balance}${s.sticky !== undefined ? ` · sticky: ${s.sticky}` : ''}`),
        ),
        s.registries.length > 0 &&
          h(
            'div',
            {},
            ...s.registries.map((r) =>
              h(
                'div',
                { class: 'registry' },
                'Registry ',
                h('code', {}, r.address),
                ` (cluster ${r.cluster}, priority ${r.priority}) `,
                h('span', { class: `badge ${r.connected ? 'up' : 'down'}` }, r.connected ? 'connected' : 'not connected'),
                r.origin === 'cache' ? h('span', { class: 'badge ejected' }, 'from cache file') : null,
              ),
            ),
          ),
        h(
          'div',
          { class: 'scroll' },
          h(
            'table',
            { class: 'stack' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ...['Endpoint', 'State', 'Cluster', 'Weight', 'Connections', 'Pending', 'Sticky share', 'Labels'].map((t) => h('th', {}, t)),
              ),
            ),
            h(
              'tbody',
              {},
              ...(s.endpoints.length === 0
                ? [h('tr', {}, h('td', { colspan: '8', class: 'muted' }, 'no endpoint known'))]
                : s.endpoints.map((e) =>
                    h(
                      'tr',
                      { 'data-endpoint': e.id },
                      h('td', {}, h('code', {}, e.id)),
                      h('td', { class: 'state', 'data-label': 'State' }, endpointState(e)),
                      h('td', { 'data-label': 'Cluster' }, `${e.cluster} (priority ${e.priority})`),
                      h('td', { 'data-label': 'Weight' }, e.weight),
                      h('td', { 'data-label': 'Connections' }, e.connections),
                      h('td', { 'data-label': 'Pending' }, e.pending),
                      h('td', { 'data-label': 'Sticky share' }, e.stickyShare === undefined ? '–' : `${Math.round(e.stickyShare * 100)} %`),
                      h(
                        'td',
                        { class: 'mono', 'data-label': 'Labels' },
                        Object.entries(e.labels)
                          .slice(0, 8)
                          .map(([k, v]) => `${k}=${v}`)
                          .join(' ') || '–',
                      ),
                    ),
                  )),
            ),
          ),
        ),
      ),
    ),
  );
}

function problemList(problems: Problem[]): HTMLElement {
  return h(
    'ul',
    { class: 'problems' },
    ...problems.map((p) =>
      h('li', {}, p.file !== undefined ? h('code', { class: 'where' }, at(p)) : null, p.file !== undefined ? ' ' : '', p.message),
    ),
  );
}

function renderConfig(c: {
  root: string;
  loadedAt: string;
  files: Array<{ file: string; services: number; routes: number; types: number }>;
  reloads: Reload[];
  lastRefused: Reload | null;
}): void {
  byId('config-root').replaceChildren('Folder ', h('code', {}, c.root), ` · loaded ${new Date(c.loadedAt).toLocaleString()}`);
  byId('files')
    .querySelector('tbody')!
    .replaceChildren(
      ...c.files.map((f) => h('tr', {}, h('td', {}, h('code', {}, f.file)), h('td', {}, f.services), h('td', {}, f.routes), h('td', {}, f.types))),
    );
  const latest = c.reloads[0];
  const refused = byId('refused');
  if (latest !== undefined && !latest.ok) {
    refused.replaceChildren(
      h(
        'div',
        { class: 'alert', id: 'refused-reload' },
        h('strong', {}, `The last reload (${new Date(latest.at).toLocaleString()}) was refused; the previous config keeps serving.`),
        problemList(latest.problems ?? []),
      ),
    );
  } else if (latest !== undefined) {
    refused.replaceChildren(
      h('div', { class: 'alert ok' }, `The last reload (${new Date(latest.at).toLocaleString()}) applied: ${latest.routes ?? '?'} routes.`),
    );
  } else {
    refused.replaceChildren();
  }
  byId('reloads').replaceChildren(
    ...(c.reloads.length === 0
      ? [h('li', { class: 'muted' }, 'no reload since start')]
      : c.reloads.map((r) =>
          h(
            'li',
            {},
            h('span', { class: `badge ${r.ok ? 'up' : 'down'}` }, r.ok ? 'applied' : 'refused'),
            ` ${new Date(r.at).toLocaleString()}`,
            r.ok ? ` · ${r.routes ?? '?'} routes` : null,
            !r.ok && r.problems !== undefined ? problemList(r.problems) : null,
          ),
        )),
  );
}

// ---- try it: the OpenAPI document in Swagger UI, and the validate form ----

interface SwaggerGlobal {
  SwaggerUIBundle: (opts: Record<string, unknown>) => unknown;
}

let swaggerLoaded = false;

function loadSwagger(): void {
  if (swaggerLoaded) return;
  swaggerLoaded = true;
  document.head.append(h('link', { rel: 'stylesheet', href: 'vendor/swagger-ui.css' }));
  const script = h('script', { src: 'vendor/swagger-ui-bundle.js' });
  script.addEventListener('load', () => void startSwagger());
  document.body.append(script);
}

/**
 * Swagger UI's parameter validator takes `type` to be one string (OpenAPI 3.0): given a 3.1 type list
 * such as Ferry's Java `long` (`["integer", "string"]`) it answers "Required field is not provided"
 * and sends nothing (swagger-ui issue #10646). The copy the UI shows gets one type per schema: the
 * string one when listed (what a form field holds), else the first that is not null.
 */
export function singleTypes(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(singleTypes);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    out[k] =
      k === 'type' && Array.isArray(v) && v.every((t) => typeof t === 'string')
        ? v.includes('string')
          ? 'string'
          : (v.find((t) => t !== 'null') ?? v[0])
        : singleTypes(v);
  }
  return out;
}

async function startSwagger(): Promise<void> {
  const spec = singleTypes(await api<Record<string, unknown>>('/openapi.json')) as Record<string, unknown>;
  // Calls go to the HTTP port through the admin port (same origin).
  spec['servers'] = [{ url: `${location.origin}/console/try`, description: "Ferry's HTTP port" }];
  (window as unknown as SwaggerGlobal).SwaggerUIBundle({
    spec,
    dom_id: '#swagger',
    deepLinking: false,
    tryItOutEnabled: true,
    validatorUrl: null,
    requestInterceptor: (req: { headers: Record<string, string> }) => {
      const token = sessionStorage.getItem(TOKEN_KEY);
      if (token) req.headers['x-ferry-admin-authorization'] = `Bearer ${token}`;
      return req;
    },
  });
}

byId('validate-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = byId<HTMLTextAreaElement>('validate-text').value;
  const out = byId('validate-result');
  out.replaceChildren('Validating…');
  api<{ ok?: boolean; routes?: number; services?: number; types?: number; problems?: Problem[]; detail?: string }>('/admin/api/validate', {
    method: 'POST',
    headers: { 'content-type': 'application/yaml' },
    body: text,
  }).then(
    (r) =>
      out.replaceChildren(
        r.ok === true
          ? h('div', { class: 'alert ok', id: 'validate-ok' }, `OK: ${r.services} services, ${r.types} types, ${r.routes} routes`)
          : h(
              'div',
              { class: 'alert', id: 'validate-problems' },
              h('strong', {}, 'Refused'),
              r.problems !== undefined ? problemList(r.problems) : ` ${r.detail ?? ''}`,
            ),
      ),
    (err: unknown) => out.replaceChildren(h('div', { class: 'alert' }, String(err))),
  );
});

// ---- navigation and polling ----

let page: Page = 'routes';

function showPage(): void {
  const name = location.hash.replace('#', '');
  page = name === 'upstreams' || name === 'config' || name === 'try' ? name : 'routes';
  for (const p of ['routes', 'upstreams', 'config', 'try'] as const) byId(`page-${p}`).hidden = p !== page;
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a')) a.classList.toggle('active', a.dataset['page'] === page);
  if (page === 'try') loadSwagger();
  void poll();
}

let polling = false;

async function poll(): Promise<void> {
  if (polling) return;
  polling = true;
  try {
    const m = await api<{ routes: RouteStats[] }>('/admin/api/metrics');
    recordStats(m.routes);
    stats = new Map(m.routes.map((s) => [s.route, s]));
    if (page === 'routes') {
      if (routes.length === 0 || times.length % 15 === 1) routes = (await api<{ routes: RouteView[] }>('/admin/api/routes')).routes;
      drawCharts();
      renderRoutes();
    } else if (page === 'upstreams') {
      renderUpstreams((await api<{ services: ServiceView[] }>('/admin/api/upstreams')).services);
    } else if (page === 'config') {
      renderConfig(await api('/admin/api/config'));
    }
    byId('token-form').hidden = true;
    setStatus(`updated ${new Date().toLocaleTimeString()}`);
  } catch (err) {
    if (err instanceof Unauthorized) byId('token-form').hidden = false;
    setStatus(err instanceof Error ? err.message : String(err), true);
  } finally {
    polling = false;
  }
}

byId('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, byId<HTMLInputElement>('token').value);
  void poll();
});
byId('route-filter').addEventListener('input', renderRoutes);
addEventListener('hashchange', showPage);
showPage();
setInterval(() => {
  if (document.visibilityState === 'visible') void poll();
}, POLL_MS);
