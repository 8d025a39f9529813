// The developer console: the SDK (served beside this file) driven by a form.
// Connect with a user's token, subscribe, watch envelopes arrive (each acked
// with the result you set), publish, and see a small live view from /metrics.
import { connect, publish, tokenExp } from './sdk.js';

const $ = (id) => document.getElementById(id);
const MAX_ROWS = 200;     // envelopes kept on the page, newest first
const MAX_EVENTS = 100;   // lines in the event log
const POLL_MS = 2000;     // /metrics poll for the live view

let client = null;
const subscriptions = new Map();  // label -> unsubscribe

$('url').value = location.origin;
const fromFragment = new URLSearchParams(location.hash.slice(1)).get('token');
if (fromFragment) $('token').value = fromFragment;
showWho();
$('token').addEventListener('input', showWho);

function claims(token) {
  try {
    const b64 = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)));
  } catch {
    return null;
  }
}

function showWho() {
  const c = claims($('token').value.trim());
  const exp = tokenExp($('token').value.trim());
  $('who').textContent = c ? `user ${c.userId ?? c.sub ?? '(none)'}${exp ? `, expires ${new Date(exp * 1000).toLocaleString()}` : ''}` : '';
  if (c && !$('pub-user').value) $('pub-user').value = c.userId ?? c.sub ?? '';
}

function event(text, cls = '') {
  const line = document.createElement('div');
  line.className = cls;
  line.textContent = `${new Date().toLocaleTimeString()}  ${text}`;
  $('events').prepend(line);
  while ($('events').childElementCount > MAX_EVENTS) $('events').lastElementChild.remove();
}

function setState(s) {
  $('state').textContent = s;
  $('state').className = `badge ${s}`;
  $('connect').disabled = s !== 'closed' && s !== 'disconnected';
  $('disconnect').disabled = !$('connect').disabled;
}

function ackResult() {
  try {
    return JSON.parse($('ack').value);
  } catch {
    return null;
  }
}

function addRow(env, ack) {
  const body = $('envelopes');
  if (body.querySelector('.empty')) body.textContent = '';
  const tr = document.createElement('tr');
  const cells = [new Date(env.timestamp).toLocaleTimeString(), env.type, env.offset ?? '', JSON.stringify(env.payload ?? null), JSON.stringify(ack)];
  cells.forEach((text, i) => {
    const td = document.createElement('td');
    td.textContent = text;
    if (i >= 3) td.className = 'mono';
    tr.appendChild(td);
  });
  tr.dataset.envelopeId = env.envelopeId;
  body.prepend(tr);
  while (body.childElementCount > MAX_ROWS) body.lastElementChild.remove();
}

function subscribeRow(label, filter) {
  const li = document.createElement('li');
  li.dataset.filter = label;
  li.dataset.json = JSON.stringify(filter);
  const text = document.createElement('span');
  text.textContent = label;
  const remove = document.createElement('button');
  remove.textContent = '×';
  remove.title = 'unsubscribe';
  remove.onclick = () => {
    subscriptions.get(label)?.();
    subscriptions.delete(label);
    li.remove();
    event(`unsubscribed ${label}`);
  };
  li.append(text, remove);
  $('filters').appendChild(li);
  subscriptions.set(label, client.subscribe(filter, (env) => {
    const result = ackResult();
    addRow(env, result);
    return result;
  }));
}

$('connect').onclick = () => {
  const token = $('token').value.trim();
  if (!token) return event('a token is needed', 'error');
  client = connect({ url: $('url').value.trim(), token });
  client.on('state', (s) => { setState(s); event(`state: ${s}`); });
  client.on('close', (c) => event(`closed ${c.code} ${c.reason}`));
  client.on('recovered', (r) => event(`recovered: epoch ${r.epoch}, offset ${r.offset}, ${r.recovered ? 'nothing missed' : 'from here on'}`));
  client.on('recoveryFailed', () => event('recovery failed: envelopes may have been missed while away', 'error'));
  client.on('error', (e) => event(e.message, 'error'));
  setState(client.state);
  // The list survives a disconnect: subscribe to it again.
  const saved = [...$('filters').children].map((li) => [li.dataset.filter, JSON.parse(li.dataset.json)]);
  $('filters').textContent = '';
  for (const [label, filter] of saved) subscribeRow(label, filter);
};

$('disconnect').onclick = () => {
  client?.close();
  client = null;
  for (const off of subscriptions.values()) off();
  subscriptions.clear();
  setState('disconnected');
};

$('add-filter').onclick = () => {
  const filter = { type: $('filter-type').value.trim() };
  for (const pair of $('filter-extra').value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return event(`not key=value: ${pair}`, 'error');
    filter[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  if (!filter.type) return event('a filter needs a type', 'error');
  const label = Object.entries(filter).map(([k, v]) => `${k}=${v}`).join(',');
  if (subscriptions.has(label)) return;
  if (!client) {
    event('connect first', 'error');
    return;
  }
  subscribeRow(label, filter);
  event(`subscribed ${label}`);
};

$('publish').onclick = async () => {
  $('answer').textContent = '…';
  let payload;
  try {
    const text = $('pub-payload').value.trim();
    payload = text === '' ? undefined : JSON.parse(text);
  } catch {
    $('answer').textContent = 'payload is not JSON';
    return;
  }
  const timeout = $('pub-timeout').value.trim();
  const t0 = performance.now();
  try {
    const answer = await publish({
      url: $('url').value.trim(),
      token: $('token').value.trim(),
      userId: $('pub-user').value.trim(),
      type: $('pub-type').value.trim() || undefined,
      payload,
      ackTimeoutMs: timeout === '' ? undefined : Number(timeout),
    });
    $('answer').textContent = `${JSON.stringify(answer)}  (${(performance.now() - t0).toFixed(0)} ms)`;
  } catch (e) {
    $('answer').textContent = e.message;
  }
};

// The live view: gauges and rates from /metrics (summed over labels).
let last = null;
async function poll() {
  try {
    const res = await fetch(new URL('/metrics', $('url').value.trim() || location.origin));
    const text = await res.text();
    const sum = (name) => text.split('\n')
      .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
      .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    const now = { t: performance.now(), publishes: sum('hopeflow_publishes_total'), acks: sum('hopeflow_acks_total') };
    $('stat-sockets').textContent = sum('hopeflow_websockets');
    $('stat-users').textContent = sum('hopeflow_users');
    if (last) {
      const s = (now.t - last.t) / 1000;
      $('stat-rate').textContent = ((now.publishes - last.publishes) / s).toFixed(1);
      $('stat-acks').textContent = ((now.acks - last.acks) / s).toFixed(1);
    }
    last = now;
  } catch {
    // The server is away (restarting?): the badge says so already.
  }
}
poll();
setInterval(poll, POLL_MS);
