// The SDK and the console in a real browser: Debian's chromium, headless,
// driven by npm playwright-core (never a downloaded browser).
// 1. Two tabs of a page that uses the SDK; the node they are connected to is
//    killed and started again; what was published meanwhile reaches each tab
//    once, in order, and acks from both tabs reach the publisher.
// 2. The console (CONSOLE=1): connect with the token from the link, subscribe,
//    receive, publish from the page, live numbers; a screenshot
//    (docs/console.png when UPDATE_SCREENSHOT=1). Then two console tabs as
//    two devices: a publish with receipts, until first and cancel, who is
//    online, a tab replaced by a third, a token the server refuses.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { publish } from '../../clients/js/src/index.js';
import { sleep, startServer, token } from '../e2e/helpers.mjs';
import { restartablePair, until } from './helpers.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const sdkSource = readFileSync(new URL('../../clients/js/src/index.js', import.meta.url), 'utf8');

// A page of an app using the SDK, as a web developer would write it.
const appPage = `<!doctype html><meta charset="utf-8"><title>app</title>
<script type="module">
  import { connect } from '/sdk.js';
  const q = new URLSearchParams(location.search);
  window.got = []; window.states = []; window.failed = 0;
  const rt = connect({ url: q.get('ws'), token: q.get('token'), backoffInitialMs: 100, backoffMaxMs: 1000 });
  rt.on('state', (s) => window.states.push(s));
  rt.on('recoveryFailed', () => window.failed++);
  rt.subscribe({ type: 'chat_message' }, (env) => {
    window.got.push(env.payload.n);
    return { tab: q.get('tab'), n: env.payload.n };
  });
</script>`;

let browser;
before(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
});
after(() => browser?.close());

describe('browser: two tabs through a node restart', () => {
  let pair; let web; let webUrl;
  before(async () => {
    pair = await restartablePair();
    web = createServer((req, res) => {
      if (req.url.startsWith('/sdk.js')) {
        res.writeHead(200, { 'content-type': 'text/javascript' });
        return res.end(sdkSource);
      }
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(appPage);
    }).listen(0, '127.0.0.1');
    await new Promise((r) => web.once('listening', r));
    webUrl = `http://127.0.0.1:${web.address().port}`;
  });
  after(async () => { web?.close(); await pair.stop(); });

  it('each tab gets what was published while the node was down once, in order, and its acks reach the publisher', async () => {
    const context = await browser.newContext();
    const tok = await token('tabs-user');
    const tabs = [];
    for (const tab of ['1', '2']) {
      const page = await context.newPage();
      await page.goto(`${webUrl}/?tab=${tab}&ws=${encodeURIComponent(`ws://127.0.0.1:${pair.portA}`)}&token=${tok}`);
      tabs.push(page);
    }
    const backend = await token('backend');
    const pub = (n) => publish({ url: pair.b.http, token: backend, userId: 'tabs-user', type: 'chat_message', payload: { n } });
    await until(async () => (await pub(0)).clientCount === 2, 'both tabs subscribed');
    const first = await pub(1);
    assert.equal(first.clientCount, 2);
    assert.deepEqual(first.results.map((r) => r.tab).sort(), ['1', '2'], 'an ack from each tab');
    await pair.a.stop('SIGKILL');
    for (const page of tabs) await until(() => page.evaluate(() => window.states.at(-1) === 'reconnecting'), 'the tab noticing');
    for (let n = 2; n <= 4; n++) assert.deepEqual(await pub(n), { clientCount: 0, results: [] });
    await pair.restartA();
    // The tabs' reconnect backoff doubles from 0.5 s (with jitter): the attempt
    // after the restart can come up to ~12 s later on a loaded machine.
    for (const page of tabs) await until(() => page.evaluate(() => window.got.includes(4)), 'the recovered envelopes', 40_000);
    const live = await pub(5);
    assert.equal(live.clientCount, 2);
    assert.deepEqual(live.results.map((r) => `${r.tab}:${r.n}`).sort(), ['1:5', '2:5']);
    for (const page of tabs) {
      const got = await page.evaluate(() => window.got);
      // n = 0 may have arrived more than once while subscribing (published until both were in).
      assert.deepEqual(got.filter((n) => n > 0), [1, 2, 3, 4, 5], 'once each, in order');
      assert.equal(await page.evaluate(() => window.failed), 0);
    }
    await context.close();
  });
});

describe('browser: permessage-deflate', () => {
  let server;
  before(async () => { server = await startServer({ single: true }); });
  after(() => server.stop());

  it('Chromium negotiates it and gets compressed envelopes intact', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.http}/healthz`);  // any page on the server's origin
    const tok = await token('deflate-user');
    const opened = page.evaluate(async ({ url }) => {
      const ws = new WebSocket(url);
      window.received = new Promise((resolve) => {
        ws.onmessage = (m) => {
          if (m.data === 'pong') return;
          const env = JSON.parse(m.data);
          ws.send(JSON.stringify({ type: 'ack', envelopeId: env.envelopeId, result: env.payload.text.length }));
          resolve(env.payload.text);
        };
      });
      await new Promise((r) => { ws.onopen = r; });
      ws.send(JSON.stringify({ type: 'subscribe', filters: [{ type: 'big' }] }));
      ws.send('ping');
      return ws.extensions;
    }, { url: `${server.ws}/?token=${tok}` });
    assert.match(await opened, /permessage-deflate/);
    const text = 'Compressed once per publish, inflated by the browser. '.repeat(40);
    const backend = await token('backend');
    const answer = await until(async () => {
      const r = await publish({ url: server.http, token: backend, userId: 'deflate-user', type: 'big', payload: { text } });
      return r.clientCount === 1 && r;
    }, 'subscribed');
    assert.deepEqual(answer.results, [text.length]);
    assert.equal(await page.evaluate(() => window.received), text);
    await page.close();
  });
});

describe('browser: the console', () => {
  let server;
  before(async () => { server = await startServer({ single: true, env: { CONSOLE: '1' } }); });
  after(() => server.stop());

  it('connects with the token from its link, subscribes, receives, publishes, and shows live numbers', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const tok = await token('console-user');
    await page.goto(`${server.http}/console#token=${tok}`);
    assert.match(await page.textContent('#who'), /user console-user/);
    await page.click('#connect');
    await page.waitForFunction(() => document.getElementById('state').textContent === 'open');
    await page.fill('#filter-type', 'chat_message');
    await page.fill('#filter-extra', 'room=lobby');
    await page.click('#add-filter');
    assert.equal(await page.textContent('#filters li span'), 'type=chat_message,room=lobby');
    await page.fill('#ack', '{"seen":"console"}');
    // From a backend: the row appears and the ack result is the one set on the page.
    const backend = await token('backend');
    const answer = await until(async () => {
      const r = await publish({ url: server.http, token: backend, userId: 'console-user', type: 'chat_message', payload: { room: 'lobby', text: 'from the backend' } });
      return r.clientCount === 1 && r;
    }, 'the console subscribed');
    assert.deepEqual(answer.results, [{ seen: 'console' }]);
    // From the page's own publish form (userId filled from the token).
    assert.equal(await page.inputValue('#pub-user'), 'console-user');
    await page.fill('#pub-type', 'chat_message');
    await page.fill('#pub-payload', '{"room":"lobby","text":"hello from the console"}');
    await page.click('#publish');
    await page.waitForFunction(() => document.getElementById('answer').textContent.includes('clientCount'));
    assert.match(await page.textContent('#answer'), /\{"clientCount":1,"results":\[\{"seen":"console"\}\]\}/);
    await page.waitForFunction(() => document.querySelectorAll('#envelopes tr').length >= 2);
    const rows = await page.$$eval('#envelopes tr', (trs) => trs.map((tr) => tr.textContent));
    assert.match(rows[0], /hello from the console/);
    assert.match(rows.at(-1), /from the backend/);
    await page.waitForFunction(() => Number(document.getElementById('stat-sockets').textContent) >= 1);
    // Publishes from the page show in the live rate within a poll or two
    // (with receipts: the answer shows this tab's device, for the screenshot).
    await page.check('#pub-receipts');
    for (let i = 0; i < 5; i++) await page.click('#publish');
    await page.waitForSelector('#answer tbody tr');
    assert.equal(await page.textContent('#answer tbody tr td'), await page.inputValue('#device'));
    await page.waitForFunction(() => Number(document.getElementById('stat-rate').textContent) > 0, null, { timeout: 10_000 });
    const shot = process.env.UPDATE_SCREENSHOT === '1'
      ? new URL('../../docs/console.png', import.meta.url).pathname
      : `${process.env.TMPDIR ?? '/tmp'}/hopeflow-console.png`;
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: shot, fullPage: true });
    assert.deepEqual(errors, []);
    // Off by default: the route is the contract's 404.
    const plain = await startServer({ single: true });
    try {
      const res = await fetch(`${plain.http}/console`);
      assert.equal(res.status, 404);
      assert.equal(await res.text(), 'Not Found');
    } finally {
      await plain.stop();
    }
    await page.close();
  });

  it('two tabs as devices: receipts, until first and cancel; who is online; replaced; a refused token; the default type', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const errors = [];
    const tok = await token('devices-user');
    const open = async (withToken = tok) => {
      const page = await context.newPage();
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${server.http}/console#token=${withToken}`);
      return page;
    };
    const text = (page, sel) => page.evaluate((s) => document.querySelector(s).textContent, sel);
    const waitText = (page, sel, part) => page.waitForFunction(([s, p]) => document.querySelector(s).textContent.includes(p), [sel, part]);
    const rows = (page, sel) => page.$$eval(sel, (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
    const codes = (page) => page.$$eval('#roster li code', (cs) => cs.map((x) => x.textContent));
    const a = await open();
    const b = await open();
    // Each tab is its own device by default (the SDK's tabDeviceId()).
    const devA = await a.inputValue('#device');
    const devB = await b.inputValue('#device');
    assert.match(devA, /^tab-[0-9a-f]{12}$/);
    assert.match(devB, /^tab-[0-9a-f]{12}$/);
    assert.notEqual(devA, devB);
    await b.fill('#ack-delay', '3000');  // the slow device: A acks first, B is cancelled
    for (const page of [a, b]) {
      await page.click('#connect');
      await page.waitForFunction(() => document.getElementById('state').textContent === 'open');
      await page.fill('#filter-type', 'incoming_call');
      await page.click('#add-filter');
      await waitText(page, '#events', 'subscribed type=incoming_call');  // once the server has it (ready())
    }
    // Who is online: B listed both when it connected; A does on Refresh.
    await b.waitForFunction(() => document.querySelectorAll('#roster li code').length === 2);
    const rosterB = await b.$$eval('#roster li', (lis) => lis.map((li) => li.textContent));
    assert.match(rosterB[0], new RegExp(`^${devA} since `));
    assert.match(rosterB[1], new RegExp(`^${devB} since .* \\(this tab\\)$`));
    assert.match(await text(a, '#roster-user'), /user devices-user/);
    await a.click('#roster-refresh');
    await a.waitForFunction(() => document.querySelectorAll('#roster li code').length === 2);
    assert.deepEqual(await codes(a), [devA, devB]);

    // The type defaults to the last subscribed filter's.
    assert.equal(await a.inputValue('#pub-type'), '');
    assert.equal(await a.getAttribute('#pub-type', 'placeholder'), 'incoming_call');
    await a.fill('#pub-payload', '{"from":"ann","n":1}');
    await a.check('#pub-receipts');
    await a.selectOption('#pub-until', 'first');
    await a.check('#pub-cancel');
    await a.click('#publish');
    await a.waitForSelector('#answer tbody tr');
    assert.match(await text(a, '#answer pre'), /^\{"clientCount":2,"results":\[\{"seen":true\}\]\}/);
    const receipts = await rows(a, '#answer tbody tr');
    assert.equal(receipts.length, 2);
    assert.deepEqual(receipts[0].slice(0, 3), [devA, 'acked', '{"seen":true}']);
    assert.match(receipts[0][3], /^\d+$/);
    assert.deepEqual(receipts[1], [devB, 'pending', '', '']);
    // B got the envelope (of the filter's type), then the cancel: no ack from it.
    await waitText(b, '#events', 'cancel ');
    assert.match(await text(b, '#events'), /cancel [0-9a-f-]{36}: handler stopped, no ack sent/);
    const [rowB] = await rows(b, '#envelopes tr');
    assert.equal(rowB[1], 'incoming_call');
    assert.match(rowB[4], /"n":1/);
    assert.equal(rowB[5], 'cancelled: not acked');
    assert.doesNotMatch(await text(a, '#events'), /cancel /, 'A acked: no cancel for it');

    // One row per envelope, listing every filter it matched.
    await a.fill('#filter-type', 'incoming_call');
    await a.fill('#filter-extra', 'from=ann');
    await a.click('#add-filter');
    await waitText(a, '#events', 'subscribed type=incoming_call,from=ann');
    await a.fill('#pub-payload', '{"from":"ann","n":2}');
    await a.click('#publish');
    await a.waitForFunction(() => [...document.querySelectorAll('#envelopes tr')].some((tr) => tr.textContent.includes('"n":2')));
    const second = (await rows(a, '#envelopes tr')).filter((r) => r[4].includes('"n":2'));
    assert.equal(second.length, 1);
    assert.equal(second[0][2], 'type=incoming_call | type=incoming_call,from=ann');

    // A third tab that names A's device replaces A, which says so and stays down.
    const c = await open();
    await c.fill('#device', devA);
    await c.click('#connect');
    await c.waitForFunction(() => document.getElementById('state').textContent === 'open');
    await waitText(a, '#conn-status', `replaced by another socket of device ${devA}: not reconnecting`);
    assert.equal(await text(a, '#state'), 'replaced');
    assert.equal(await a.isEnabled('#connect'), true);

    // A token the server refuses: said, and no more tries.
    const bad = await token('devices-user', { secret: 'not-the-secret-of-this-server-at-all!!' });
    const d = await open(bad);
    await d.click('#connect');
    await waitText(d, '#conn-status', '401');
    assert.equal(await text(d, '#conn-status'), '401: the token was refused (wrong secret, expired, or wrong user claim)');
    assert.equal(await text(d, '#state'), 'refused');
    const tries = async () => (await text(d, '#events')).split('did not open').length - 1;
    const before = await tries();
    await sleep(1500);  // several of the SDK's backoffs (500 ms at first)
    assert.equal(await tries(), before, 'no reconnect loop');
    // The publisher token field is used for the roster (and publishes) instead.
    await d.fill('#pub-token', tok);
    await d.click('#roster-refresh');
    await d.waitForFunction(() => document.querySelectorAll('#roster li code').length === 2);
    assert.deepEqual((await codes(d)).sort(), [devA, devB].sort());
    assert.deepEqual(errors, []);
    await context.close();
  });
});
