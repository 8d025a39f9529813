// The developer console: the SDK (served beside this file) driven by a form.
// Connect with a user's token as a device, subscribe, watch envelopes arrive
// (each acked with the result you set, after the delay you set), publish
// (with receipts, until and cancel: docs/protocol.md section 12), see who is
// online (section 13), and a small live view from /metrics.
import {
  connect, devices, publish, tokenExp, tabDeviceId, matches, normalizeFilter, UnauthorizedError,
} from './sdk.js';

const $ = (id) => document.getElementById(id);
const MAX_ROWS = 200;     // envelopes kept on the page, newest first
const MAX_EVENTS = 100;   // lines in the event log
const POLL_MS = 2000;     // /metrics poll for the live view
const REFUSED = '401: the token was refused (wrong secret, expired, or wrong user claim)';

let client = null;
const subscriptions = new Map();  // label -> unsubscribe

function claims(token) {
  try {
    const b64 = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)));
  } catch {
    return null;
  }
}

const userOf = (token) => { const c = claims(token); return c ? String(c.userId ?? c.sub ?? '') : ''; };
const serverUrl = () => $('url').value.trim();
const socketToken = () => $('token').value.trim();
// Publishes and roster queries use the publisher token when one is given.
const publisherToken = () => $('pub-token').value.trim() || socketToken();
// The roster is that of the user the socket connects as.
const currentUser = () => userOf(socketToken()) || $('pub-user').value.trim();

$('url').value = location.origin;
$('device').value = tabDeviceId();
const fromFragment = new URLSearchParams(location.hash.slice(1)).get('token');
if (fromFragment) $('token').value = fromFragment;
$('token').addEventListener('input', showWho);
showWho();

function showWho() {
  const c = claims(socketToken());
  const exp = tokenExp(socketToken());
  $('who').textContent = c ? `user ${c.userId ?? c.sub ?? '(none)'}${exp ? `, expires ${new Date(exp * 1000).toLocaleString()}` : ''}` : '';
  if (c && !$('pub-user').value) $('pub-user').value = c.userId ?? c.sub ?? '';
  $('roster-user').textContent = currentUser() ? `user ${currentUser()}` : 'set a token first';
}

function event(text, cls = '') {
  const line = document.createElement('div');
  line.className = cls;
  line.textContent = `${new Date().toLocaleTimeString()}  ${text}`;
  $('events').prepend(line);
  while ($('events').childElementCount > MAX_EVENTS) $('events').lastElementChild.remove();
}

const status = (text) => { $('conn-status').textContent = text; };

function setState(s) {
  $('state').textContent = s;
  $('state').className = `badge ${s}`;
  $('connect').disabled = !['closed', 'disconnected', 'replaced', 'refused'].includes(s);
  $('disconnect').disabled = !$('connect').disabled;
}

function ackResult() {
  try {
    return JSON.parse($('ack').value);
  } catch {
    return null;
  }
}
const ackDelay = () => Math.max(0, Number($('ack-delay').value) || 0);

function cell(tr, text, cls = '') {
  const td = document.createElement('td');
  td.textContent = text;
  td.className = cls;
  tr.appendChild(td);
  return td;
}

// The filters on the page (in subscription order) that an envelope matches.
function filtersOf(env) {
  return [...$('filters').children]
    .filter((li) => { try { return matches(normalizeFilter(JSON.parse(li.dataset.json)), env); } catch { return false; } })
    .map((li) => li.dataset.filter);
}

// One row per envelope, however many filters it matched.
function addRow(env) {
  const body = $('envelopes');
  if (body.querySelector('.empty')) body.textContent = '';
  const tr = document.createElement('tr');
  const delay = ackDelay();
  cell(tr, new Date(env.timestamp).toLocaleTimeString());
  cell(tr, env.type);
  cell(tr, filtersOf(env).join(' | ') || '–', 'mono');
  cell(tr, env.offset ?? '');
  cell(tr, JSON.stringify(env.payload ?? null), 'mono');
  cell(tr, `${JSON.stringify(ackResult())}${delay ? ` after ${delay} ms` : ''}`, 'mono ack');
  tr.dataset.envelopeId = env.envelopeId;
  body.prepend(tr);
  while (body.childElementCount > MAX_ROWS) body.lastElementChild.remove();
}

function markCancelled(envelopeId, aborted) {
  const tr = [...$('envelopes').children].find((r) => r.dataset.envelopeId === envelopeId);
  const td = tr?.querySelector('.ack');
  if (!td) return;
  td.textContent = aborted ? 'cancelled: not acked' : `${td.textContent} (then cancelled)`;
  td.classList.add('cancelled');
}

// Every subscription's handler: the ack result, after the delay unless the
// server cancels the envelope meanwhile (then no ack is sent).
function handle(env, { signal }) {
  const result = ackResult();
  const ms = ackDelay();
  if (!ms) return result;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(result), ms);
    signal.addEventListener('abort', () => { clearTimeout(timer); resolve(undefined); }, { once: true });
  });
}

// The publish type when the field is empty: that of the last filter subscribed.
function defaultType() {
  const li = $('filters').lastElementChild;
  return li ? JSON.parse(li.dataset.json).type : '';
}
const showDefaultType = () => { $('pub-type').placeholder = defaultType() || 'message'; };

function subscribeRow(label, filter) {
  const li = document.createElement('li');
  li.dataset.filter = label;
  li.dataset.json = JSON.stringify(filter);
  const text = document.createElement('span');
  text.textContent = label;
  const remove = document.createElement('button');
  remove.textContent = '×';
  remove.title = 'unsubscribe';
  remove.setAttribute('aria-label', `unsubscribe ${label}`);
  remove.onclick = () => {
    subscriptions.get(label)?.();
    subscriptions.delete(label);
    li.remove();
    showDefaultType();
    event(`unsubscribed ${label}`);
  };
  li.append(text, remove);
  $('filters').appendChild(li);
  showDefaultType();
  const c = client;
  subscriptions.set(label, c.subscribe(filter, handle));
  // Said once the server has it (a ping after the subscribe: section 3).
  c.ready().then(() => { if (client === c) event(`subscribed ${label}`); }, () => {});
}

// A socket that does not open: ask the server about the token (the roster
// route is authorised like /publish; browsers hide an upgrade's 401).
async function explain(c, token) {
  let refused = false;
  let text = 'the socket could not open, though the server accepts this token (draining? too many sockets? a proxy?): retrying';
  try {
    await devices({ url: serverUrl(), token, userId: currentUser() || 'console' });
  } catch (e) {
    if (e instanceof UnauthorizedError) refused = true;
    else if (e instanceof TypeError) text = `the server at ${serverUrl()} does not answer: retrying`;
    else if (e.status !== 403) text = `${e.message}: retrying`;  // 403: a user's token where publishers are restricted
  }
  if (client !== c) return;
  if (refused) {
    client = null;
    c.close();
    setState('refused');
    text = REFUSED;
  }
  status(text);
  event(text, 'error');
}

$('connect').onclick = () => {
  const token = socketToken();
  if (!token) return event('a token is needed', 'error');
  client?.close();
  client = null;
  status('');
  let c;
  try {
    c = connect({ url: serverUrl(), token, device: $('device').value.trim() || null });
  } catch (e) {
    return event(e.message, 'error');
  }
  client = c;
  let explained = false;  // once per run of sockets that did not open
  c.on('state', (s) => {
    if (client !== c) return;
    setState(s);
    event(`state: ${s}`);
    if (s !== 'open') return;
    explained = false;
    status('');
    refreshRoster();
  });
  c.on('close', (e) => {
    if (e.wasOpen) return event(`closed ${e.code} ${e.reason}`);
    event(`the socket did not open (${e.code})`);
    if (!explained) { explained = true; explain(c, token); }
  });
  c.on('replaced', () => {
    const text = `replaced by another socket of device ${c.device}: not reconnecting`;
    status(text);
    event(text, 'error');
  });
  c.on('cancel', ({ envelopeId, aborted }) => {
    event(`cancel ${envelopeId}: ${aborted ? 'handler stopped, no ack sent' : 'it was acked already'}`);
    markCancelled(envelopeId, aborted);
  });
  c.on('envelope', addRow);
  // The client's first recover has no position (section 7): its false is no failure.
  let positioned = false;
  c.on('recovered', (r) => {
    const why = r.recovered ? 'nothing missed'
      : positioned ? 'from here on' : 'recovered:false: no position was given, so there is nothing to vouch for; later envelopes carry offsets';
    positioned = true;
    event(`recovered: epoch ${r.epoch}, offset ${r.offset}, ${why}`);
  });
  c.on('recoveryFailed', () => event('recovery failed: envelopes may have been missed while away', 'error'));
  c.on('error', (e) => event(e.message, 'error'));
  setState(c.state);
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
  status('');
  setTimeout(refreshRoster, 300);  // once the server has seen the close
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
};

$('pub-until').onchange = () => { $('pub-until-n').disabled = $('pub-until').value !== 'n'; };

function untilValue() {
  const u = $('pub-until').value;
  if (u === 'n') return Number($('pub-until-n').value);  // the server answers a bad one with a 400
  return u === 'first' ? 'first' : undefined;            // 'all' is the default
}

// The answer: its JSON without `devices`, and with receipts one row per target.
function showAnswer(answer, ms) {
  const { devices: targets, ...rest } = answer;
  const pre = document.createElement('pre');
  pre.textContent = `${JSON.stringify(rest)}  (${ms} ms)`;
  $('answer').replaceChildren(pre);
  if (!Array.isArray(targets)) return;
  const table = document.createElement('table');
  table.innerHTML = '<caption class="who">devices</caption><thead><tr><th>device</th><th>state</th><th>result</th><th>ackMs</th></tr></thead>';
  const tbody = document.createElement('tbody');
  for (const d of targets) {
    const tr = document.createElement('tr');
    cell(tr, d.device ?? '(none)', 'mono');
    cell(tr, d.state, d.state);
    cell(tr, 'result' in d ? JSON.stringify(d.result) : '', 'mono');
    cell(tr, d.ackMs ?? '');
    tbody.appendChild(tr);
  }
  table.appendChild(tbody);
  $('answer').appendChild(table);
}

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
      url: serverUrl(),
      token: publisherToken(),
      userId: $('pub-user').value.trim(),
      type: $('pub-type').value.trim() || defaultType() || undefined,
      payload,
      ackTimeoutMs: timeout === '' ? undefined : Number(timeout),
      receipts: $('pub-receipts').checked || undefined,
      until: untilValue(),
      cancel: $('pub-cancel').checked || undefined,
    });
    showAnswer(answer, (performance.now() - t0).toFixed(0));
  } catch (e) {
    $('answer').textContent = e.message;
  }
};

// Who is online: the user's open sockets on every node (section 13).
let rosterSeq = 0;
async function refreshRoster() {
  const seq = ++rosterSeq;
  const user = currentUser();
  const list = $('roster');
  if (!user || !publisherToken()) return list.replaceChildren();
  let items;
  try {
    const answer = await devices({ url: serverUrl(), token: publisherToken(), userId: user });
    items = answer.devices.map((d) => {
      const li = document.createElement('li');
      const name = document.createElement('code');
      name.textContent = d.device ?? '(no device)';
      const mine = d.device !== null && client?.state === 'open' && d.device === client.device;
      li.append(name, ` since ${new Date(d.since).toLocaleTimeString()}${mine ? ' (this tab)' : ''}`);
      return li;
    });
    if (items.length === 0) items = ['nobody'];
    if (answer.degraded) items.push('(this node only: the others did not answer)');
  } catch (e) {
    items = [e.message];
  }
  if (seq !== rosterSeq) return;
  list.replaceChildren(...items.map((it) => {
    if (typeof it !== 'string') return it;
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = it;
    return li;
  }));
}
$('roster-refresh').onclick = refreshRoster;

// The live view: gauges and rates from /metrics (summed over labels).
let last = null;
async function poll() {
  try {
    const res = await fetch(new URL('/metrics', serverUrl() || location.origin));
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
