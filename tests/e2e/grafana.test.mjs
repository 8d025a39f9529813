// packaging/grafana/hopeflow-realtime.json queries only metrics the server
// really exports. Every PromQL expression of the dashboard (panel targets and
// the template variables' label_values queries) is tokenized; the metric
// names in it are checked against the families of a real /metrics answer
// (`# TYPE <name> <type>`), taken from the real binary after one publish
// with an ack, in cluster mode on a real redis-server when the dashboard
// queries cluster metrics. A histogram or summary is queried through its
// `_bucket` (histograms), `_sum` and `_count` series, never by its family
// name alone (which has no series).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { WEBHOOK_SECRET, connect, freePort, publish, sleep, startReceiver, startRedis, startServer } from './helpers.mjs';

const DASHBOARD = new URL('../../packaging/grafana/hopeflow-realtime.json', import.meta.url).pathname;

// PromQL's functions (Prometheus 2.x and 3.x), aggregation operators and
// keywords: identifiers that are not metric names.
const FUNCTIONS = new Set(`abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes
  clamp clamp_max clamp_min cos cosh count_over_time day_of_month day_of_week day_of_year days_in_month deg delta
  deriv double_exponential_smoothing exp floor histogram_avg histogram_count histogram_fraction histogram_quantile
  histogram_stddev histogram_stdvar histogram_sum holt_winters hour idelta increase info irate label_join
  label_replace last_over_time ln log10 log2 mad_over_time max_over_time min_over_time minute month pi
  predict_linear present_over_time quantile_over_time rad rate resets round scalar sgn sin sinh sort sort_by_label
  sort_by_label_desc sort_desc sqrt stddev_over_time stdvar_over_time sum_over_time tan tanh time timestamp vector
  year`.split(/\s+/));
const AGGREGATIONS = new Set('sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio'.split(' '));
const KEYWORDS = new Set('by without on ignoring group_left group_right offset bool and or unless atan2 start end inf nan'.split(' '));

// The metric names one PromQL expression reads. Grafana's variables are
// dropped, then strings, label matchers ({...}), ranges and subqueries
// ([...]), the label lists of by/without/on/ignoring/group_left/group_right
// and numbers and durations; what remains that looks like an identifier is a
// function or operator (when followed by "(" it must be a known one) or a
// metric name.
function metricNames(expr) {
  let e = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\$\{[^}]*\}|\$\w+|\[\[\w+\]\]/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' $1 ')
    .replace(/(^|[^\w:.])(0x[0-9a-f]+|\d*\.?\d+(e[+-]?\d+)?)(ms|s|m|h|d|w|y)*(?![\w:])/gi, '$1 ');
  const names = new Set();
  for (const m of e.matchAll(/[A-Za-z_:][\w:]*/g)) {
    const id = m[0];
    const call = /^\s*\(/.test(e.slice(m.index + id.length));
    const lower = id.toLowerCase();
    if (KEYWORDS.has(lower)) continue;
    if (AGGREGATIONS.has(id)) continue;
    if (call) {
      assert.ok(FUNCTIONS.has(id), `unknown PromQL function ${id}( in ${expr}`);
      continue;
    }
    assert.ok(!FUNCTIONS.has(id), `function ${id} without arguments in ${expr}`);
    names.add(id);
  }
  return names;
}

// Every query of a dashboard, as [where, expr].
function queriesOf(dashboard) {
  const out = [];
  const walk = (panels) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (t.expr !== undefined) out.push([`panel "${p.title}" ${t.refId}`, t.expr]);
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    const m = /^\s*label_values\(\s*(.*),\s*[A-Za-z_]\w*\s*\)\s*$/.exec(q ?? '');
    assert.ok(m, `variable ${v.name}: only label_values(<selector>, <label>) queries are checked, got ${q}`);
    out.push([`variable ${v.name}`, m[1]]);
  }
  return out;
}

// The families of a /metrics text: name -> type.
function familiesOf(text) {
  const families = new Map();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) families.set(m[1], m[2]);
  return families;
}

// What is wrong with the queried names, given the exported families.
function problems(dashboard, families) {
  const out = [];
  for (const [where, expr] of queriesOf(dashboard)) {
    for (const name of metricNames(expr)) {
      const type = families.get(name);
      if (type === 'histogram' || type === 'summary') {
        out.push(`${where}: ${name} is a ${type}; query ${name}_sum / _count${type === 'histogram' ? ' / _bucket' : ''}`);
        continue;
      }
      if (type) continue;
      const series = /^(.*)_(bucket|sum|count)$/.exec(name);
      const base = series && families.get(series[1]);
      if (base === 'histogram' || (base === 'summary' && series[2] !== 'bucket')) continue;
      out.push(`${where}: ${name} is not exported`);
    }
  }
  return out;
}

describe('packaging/grafana/hopeflow-realtime.json', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
  let redis, receiver, server, metricsText;

  before(async () => {
    const names = new Set(queriesOf(dashboard).flatMap(([, e]) => [...metricNames(e)]));
    const env = {};
    if ([...names].some((n) => n.startsWith('hopeflow_cluster_'))) {
      const port = await freePort();
      redis = await startRedis(port);
      env.REDIS_URL = `redis://127.0.0.1:${port}`;
    }
    if ([...names].some((n) => n.startsWith('hopeflow_webhook_'))) {  // section 14's metrics
      receiver = await startReceiver();
      Object.assign(env, { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET });
    }
    server = await startServer({ single: true, env });
    if (redis) {
      for (let i = 0; i < 200 && !/cluster: connected/.test(server.log()); i++) await sleep(25);
      assert.match(server.log(), /cluster: connected/);
    }
    // One publish with a target that acks, so that every counter has moved once.
    const c = await connect(server, 'grafana-user');
    await c.subscribe([{ type: 'g' }]);
    c.autoAck(() => 'ok');
    const r = await publish(server, { userId: 'grafana-user', type: 'g', payload: 1 });
    assert.deepEqual(r.json, { clientCount: 1, results: ['ok'] });
    await c.close();
    metricsText = await (await fetch(`${server.http}/metrics`)).text();
  });
  after(async () => {
    await server?.stop();
    await redis?.stop();
    await receiver?.stop();
  });

  it('is a dashboard with a ${DS_PROMETHEUS} input used by every panel and query', () => {
    assert.equal(dashboard.uid, 'hopeflow-realtime');
    assert.ok(dashboard.schemaVersion >= 36, 'schemaVersion');
    assert.deepEqual(dashboard.__inputs.map((i) => [i.name, i.type, i.pluginId]), [['DS_PROMETHEUS', 'datasource', 'prometheus']]);
    const ids = new Set();
    const walk = (panels) => {
      for (const p of panels ?? []) {
        assert.ok(!ids.has(p.id), `panel id ${p.id} twice`);
        ids.add(p.id);
        assert.ok(p.gridPos && p.gridPos.w > 0 && p.gridPos.h > 0 && p.gridPos.x + p.gridPos.w <= 24, `panel "${p.title}" gridPos`);
        if (p.type !== 'row') {
          assert.ok(p.targets?.length > 0, `panel "${p.title}" has no query`);
          for (const x of [p, ...p.targets]) assert.deepEqual(x.datasource, { type: 'prometheus', uid: '${DS_PROMETHEUS}' }, `panel "${p.title}" datasource`);
          for (const t of p.targets) assert.ok(typeof t.expr === 'string' && t.expr.trim(), `panel "${p.title}" ${t.refId}: no expr`);
        }
        walk(p.panels);
      }
    };
    walk(dashboard.panels);
    assert.ok(ids.size > 20);
  });

  it('the tokenizer finds metric names and nothing else', () => {
    const names = (e) => [...metricNames(e)].sort();
    assert.deepEqual(names('histogram_quantile(0.99, sum by (le) (rate(a_bucket{job=~"$job",le!="+Inf"}[$__rate_interval])))'), ['a_bucket']);
    assert.deepEqual(names('sum(rate(x_total{instance=~"${instance}"}[5m:1m] offset 1h)) / on (instance) group_left (version) build_info'), ['build_info', 'x_total']);
    assert.deepEqual(names('time() - process_start_time_seconds{job="a b"} * 1e3 > bool 2.5e-1'), ['process_start_time_seconds']);
    assert.deepEqual(names('label_replace(up, "dst", "$1", "src", "(.*)") and on() vector(1)'), ['up']);
    assert.deepEqual(names('count by (version) (m) unless ignoring (le) n'), ['m', 'n']);
    assert.throws(() => metricNames('rates(x[5m])'), /unknown PromQL function rates/);
  });

  it('a panel that queries a metric the server does not export fails the check', () => {
    const families = familiesOf(metricsText);
    const broken = structuredClone(dashboard);
    const target = broken.panels.find((p) => p.targets?.some((t) => /hopeflow_websockets\b/.test(t.expr))).targets.find((t) => /hopeflow_websockets\b/.test(t.expr));
    target.expr = target.expr.replace('hopeflow_websockets', 'hopeflow_websocket');
    assert.match(problems(broken, families).join('\n'), /hopeflow_websocket is not exported/);
    const family = structuredClone(dashboard);
    family.panels.find((p) => p.targets?.length).targets[0].expr = 'rate(hopeflow_publish_duration_seconds[5m])';
    assert.match(problems(family, families).join('\n'), /hopeflow_publish_duration_seconds is a histogram/);
    const suffix = structuredClone(dashboard);
    suffix.panels.find((p) => p.targets?.length).targets[0].expr = 'hopeflow_cluster_publish_rtt_seconds_bucket';
    assert.match(problems(suffix, families).join('\n'), /hopeflow_cluster_publish_rtt_seconds_bucket is not exported/);
  });

  it('every metric a panel or variable queries is a family of the real /metrics', (t) => {
    const families = familiesOf(metricsText);
    assert.ok(families.size > 30, 'the server exported its families');
    assert.deepEqual(problems(dashboard, families), []);
    const used = new Set(queriesOf(dashboard).flatMap(([, e]) => [...metricNames(e)]).map((n) => (families.has(n) ? n : n.replace(/_(bucket|sum|count)$/, ''))));
    const unused = [...families.keys()].filter((n) => !used.has(n));
    t.diagnostic(`${used.size} of ${families.size} families on the dashboard; not shown: ${unused.join(', ') || 'none'}`);
  });
});
