//  tickmux dashboard - a client of the gateway's own protocol (README section 3)
//
//  One WebSocket to /ws: the STATUS channel for provider cards, MARKET_DATA on the ALL stream
//  for the watchlist, ANALYTICS when the gateway serves it (else latency is measured here from
//  the ticks' own timestamps), FAILOVER events when the arbiter sends them, ORDER_UPDATE from
//  the ORDERS channel into the orders table. /ws/stats, polled
//  once a second, gives message and error rates. Ticks only mark rows dirty; the DOM is
//  written once per animation frame, so hundreds of ticks a second cost one repaint each frame.
'use strict';

//  A gateway with tokens: open the page as /?token=TOKEN and the token goes with every request
//  (a browser cannot set an Authorization header on a WebSocket)
const TOKEN = new URLSearchParams (location.search).get ('token');
function withToken (path) {
  return TOKEN ? path + '?token=' + encodeURIComponent (TOKEN) : path;
}

const WATCH_KEY = 'tickmux.watchlist';
const DEFAULT_WATCH = ['NIFTY-I', 'BANKNIFTY-I', 'NIFTY 50', 'NIFTY BANK', 'RELIANCE'];
const HISTORY_SECONDS = 300;            //  Chart span
const LATENCY_WINDOW_MS = 10000;        //  p50 / p99 over the last 10 s of samples

const state = {
  ws: null,                 //  The WebSocket, or null while reconnecting
  backoff: 500,             //  Next reconnect delay, ms
  watch: loadWatch (),      //  Symbols on the watchlist, in order
  ticks: new Map (),        //  symbol -> last MARKET_DATA
  prev: new Map (),         //  symbol -> last price painted (for the flash)
  dirty: new Set (),        //  Symbols whose row needs painting
  providers: new Map (),    //  name -> {status, rate, errorRate, latency [], history [], failover}
  analytics: false,         //  The gateway sends ANALYTICS
  lastStats: null,          //  Previous /ws/stats, for rates
  frame: 0,                 //  requestAnimationFrame handle, 0 when none is pending
};

function loadWatch () {
  try {
    const saved = JSON.parse (localStorage.getItem (WATCH_KEY));
    if (Array.isArray (saved) && saved.every (s => typeof s === 'string'))
      return saved;
  } catch (e) { /* a bad saved list falls back to the default */ }
  return DEFAULT_WATCH.slice ();
}

function saveWatch () {
  localStorage.setItem (WATCH_KEY, JSON.stringify (state.watch));
}

function $ (id) { return document.getElementById (id); }

function send (msg) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN)
    state.ws.send (JSON.stringify (msg));
}

function log (text, isError) {
  const item = document.createElement ('li');
  item.textContent = new Date ().toLocaleTimeString () + '  ' + text;
  if (isError)
    item.className = 'error';
  const list = $('log');
  list.prepend (item);
  while (list.children.length > 100)
    list.lastChild.remove ();
}

//  ---------------------------------------------------------------------------------------
//  Formatting

const priceFormat = new Intl.NumberFormat ('en-IN', { minimumFractionDigits: 2, maximumFractionDigits: 4 });
const countFormat = new Intl.NumberFormat ('en-IN');

function price (v) { return typeof v === 'number' ? priceFormat.format (v) : '—'; }
function count (v) { return typeof v === 'number' ? countFormat.format (v) : '—'; }

function istTime (ns) {
  if (typeof ns !== 'number' || ns <= 0)
    return '—';
  const d = new Date (ns / 1e6);
  const hms = d.toLocaleTimeString ('en-GB', { timeZone: 'Asia/Kolkata', hour12: false });
  return hms + '.' + String (d.getMilliseconds ()).padStart (3, '0');
}

function percentile (sorted, p) {
  if (!sorted.length)
    return null;
  return sorted [Math.min (sorted.length - 1, Math.floor (p * sorted.length))];
}

function ms (v) { return v === null || v === undefined ? '—' : v.toFixed (v < 1 ? 3 : 1) + ' ms'; }

//  ---------------------------------------------------------------------------------------
//  Watchlist

function rowFor (symbol) {
  let row = document.querySelector ('#watch-body tr[data-symbol="' + CSS.escape (symbol) + '"]');
  if (row)
    return row;
  row = document.createElement ('tr');
  row.dataset.symbol = symbol;
  for (const name of ['symbol', 'provider', 'last', 'change', 'bid', 'ask', 'volume', 'oi', 'time', 'seq']) {
    const cell = document.createElement ('td');
    cell.className = name + (['last', 'change', 'bid', 'ask', 'volume', 'oi', 'seq'].includes (name) ? ' num' : '');
    row.appendChild (cell);
  }
  row.querySelector ('.symbol').textContent = symbol;
  const remove = document.createElement ('button');
  remove.className = 'remove';
  remove.title = 'Remove ' + symbol;
  remove.textContent = '×';
  remove.addEventListener ('click', () => removeSymbol (symbol));
  const cell = document.createElement ('td');
  cell.appendChild (remove);
  row.appendChild (cell);
  $('watch-body').appendChild (row);
  return row;
}

function paintRow (symbol) {
  const msg = state.ticks.get (symbol);
  if (!msg || !state.watch.includes (symbol))
    return;
  const row = rowFor (symbol);
  const d = msg.data;
  const cells = row.children;
  cells [1].textContent = msg.provider;
  const last = row.querySelector ('.last');
  last.textContent = price (d.last_price);
  const before = state.prev.get (symbol);
  if (before !== undefined && before !== d.last_price) {
    //  Restart the flash: drop the class, force a style flush, add the new one.
    last.classList.remove ('flash-up', 'flash-down');
    void last.offsetWidth;
    last.classList.add (d.last_price > before ? 'flash-up' : 'flash-down');
    setTimeout (() => last.classList.remove ('flash-up', 'flash-down'), 150);
  }
  state.prev.set (symbol, d.last_price);
  const change = row.querySelector ('.change');
  if (typeof d.close === 'number' && d.close > 0) {
    const diff = d.last_price - d.close;
    change.textContent = (diff >= 0 ? '+' : '') + price (diff) + ' (' + (100 * diff / d.close).toFixed (2) + '%)';
    change.classList.toggle ('up', diff >= 0);
    change.classList.toggle ('down', diff < 0);
  } else
    change.textContent = '—';
  row.querySelector ('.bid').textContent = d.bid_price !== undefined ? price (d.bid_price) + ' × ' + count (d.bid_quantity) : '—';
  row.querySelector ('.ask').textContent = d.ask_price !== undefined ? price (d.ask_price) + ' × ' + count (d.ask_quantity) : '—';
  row.querySelector ('.volume').textContent = count (d.volume);
  row.querySelector ('.oi').textContent = count (d.oi);
  row.querySelector ('.time').textContent = istTime (d.exchange_ts);
  row.querySelector ('.seq').textContent = msg.seq;
}

function addSymbol (symbol) {
  symbol = symbol.trim ().toUpperCase ();
  if (!symbol || state.watch.includes (symbol))
    return;
  state.watch.push (symbol);
  saveWatch ();
  rowFor (symbol);
  send ({ type: 'SUBSCRIBE', symbol: symbol, provider: 'ALL', id: 'watch:' + symbol });
}

function removeSymbol (symbol) {
  state.watch = state.watch.filter (s => s !== symbol);
  saveWatch ();
  const row = document.querySelector ('#watch-body tr[data-symbol="' + CSS.escape (symbol) + '"]');
  if (row)
    row.remove ();
  state.ticks.delete (symbol);
  state.prev.delete (symbol);
  send ({ type: 'UNSUBSCRIBE', symbol: symbol, provider: 'ALL' });
}

//  ---------------------------------------------------------------------------------------
//  Provider cards

function provider (name) {
  let p = state.providers.get (name);
  if (!p) {
    p = { status: null, rate: null, errorRate: null, latency: [], history: [], failover: null,
          p50: null, p99: null };
    state.providers.set (name, p);
  }
  return p;
}

function cardFor (name) {
  let card = document.querySelector ('.card[data-provider="' + CSS.escape (name) + '"]');
  if (card)
    return card;
  card = document.createElement ('div');
  card.className = 'card';
  card.dataset.provider = name;
  card.innerHTML =
    '<div class="head"><span class="name"></span><span class="pill state"></span></div>' +
    '<dl><dt>Messages</dt><dd class="rate">—</dd><dt>Latency p50 / p99</dt><dd class="latency">—</dd>' +
    '<dt>Error rate</dt><dd class="errors">—</dd><dt>Last failover</dt><dd class="failover">none</dd></dl>' +
    '<canvas width="560" height="140" aria-label="message rate and latency over the last minutes"></canvas>';
  card.querySelector ('.name').textContent = name;
  $('providers').appendChild (card);
  return card;
}

function paintCard (name) {
  const p = provider (name);
  const card = cardFor (name);
  const pill = card.querySelector ('.state');
  const s = p.status ? p.status.state : 'UNKNOWN';
  pill.textContent = s + (p.status && p.status.reason ? ': ' + p.status.reason : '');
  pill.className = 'pill state ' + (s === 'CONNECTED' ? 'up' : s === 'CONNECTING' || s === 'STALE' ? 'warn' : 'down');
  card.querySelector ('.rate').textContent = p.rate === null ? '—' : count (Math.round (p.rate)) + ' /s';
  const latency = card.querySelector ('.latency');
  latency.textContent = ms (p.p50) + ' / ' + ms (p.p99);
  latency.title = state.analytics ? 'from the gateway’s ANALYTICS channel'
                : 'received → published, measured from the ticks this page receives';
  card.querySelector ('.errors').textContent = p.errorRate === null ? '—' : (100 * p.errorRate).toFixed (3) + ' %';
  if (p.failover)
    card.querySelector ('.failover').textContent = p.failover;
  drawChart (card.querySelector ('canvas'), p.history);
}

//  Two lines on one canvas: message rate (blue, left scale) and latency p50 (amber, right).
function drawChart (canvas, history) {
  const g = canvas.getContext ('2d');
  const w = canvas.width, h = canvas.height;
  g.clearRect (0, 0, w, h);
  g.strokeStyle = '#262c35';
  g.strokeRect (0.5, 0.5, w - 1, h - 1);
  if (history.length < 2)
    return;
  const series = [
    { key: 'rate', color: '#4c9aff' },
    { key: 'p50', color: '#e5a50a' },
  ];
  for (const s of series) {
    const values = history.map (x => x [s.key]).filter (v => typeof v === 'number');
    const max = Math.max (1e-9, ...values);
    g.strokeStyle = s.color;
    g.lineWidth = 2;
    g.beginPath ();
    let started = false;
    history.forEach ((x, i) => {
      if (typeof x [s.key] !== 'number')
        return;
      const px = w * (i + HISTORY_SECONDS - history.length) / (HISTORY_SECONDS - 1);
      const py = h - 6 - (h - 12) * x [s.key] / max;
      if (started)
        g.lineTo (px, py);
      else {
        g.moveTo (px, py);
        started = true;
      }
    });
    g.stroke ();
    g.fillStyle = s.color;
    g.font = '20px system-ui';
    g.fillText (s.key === 'rate' ? 'max ' + Math.round (max) + '/s' : 'max ' + ms (max),
                s.key === 'rate' ? 8 : w - 150, 22);
  }
}

function addLatencySample (name, valueMs) {
  const p = provider (name);
  const now = performance.now ();
  p.latency.push ([now, valueMs]);
  while (p.latency.length && (p.latency [0][0] < now - LATENCY_WINDOW_MS || p.latency.length > 5000))
    p.latency.shift ();
}

//  Once a second: rates from /ws/stats, latency percentiles, one chart point per provider.
async function pollStats () {
  try {
    const reply = await fetch (withToken ('/ws/stats'), { cache: 'no-store' });
    const stats = await reply.json ();
    const now = performance.now ();
    const prev = state.lastStats;
    for (const [name, figures] of Object.entries (stats.providers || {})) {
      const p = provider (name);
      if (!p.status)
        p.status = { state: figures.state, reason: '' };
      if (prev && prev.stats.providers && prev.stats.providers [name]) {
        const before = prev.stats.providers [name];
        const dt = (now - prev.at) / 1000;
        const messages = figures.messages_in - before.messages_in;
        p.rate = dt > 0 ? messages / dt : null;
        p.errorRate = messages > 0 ? (figures.errors - before.errors) / messages : 0;
      }
      if (!state.analytics) {
        const sorted = p.latency.map (x => x [1]).sort ((a, b) => a - b);
        p.p50 = percentile (sorted, 0.5);
        p.p99 = percentile (sorted, 0.99);
      }
      p.history.push ({ rate: p.rate, p50: p.p50 });
      if (p.history.length > HISTORY_SECONDS)
        p.history.shift ();
      paintCard (name);
    }
    state.lastStats = { at: now, stats: stats };
  } catch (e) {
    //  The gateway is restarting: the WebSocket's own reconnect reports it.
  }
}

//  ---------------------------------------------------------------------------------------
//  Protocol

function schedulePaint () {
  if (!state.frame)
    state.frame = requestAnimationFrame (() => {
      state.frame = 0;
      for (const symbol of state.dirty)
        paintRow (symbol);
      state.dirty.clear ();
    });
}

//  One row per order, updated in place as its status moves (ORDERS channel)
function orderRow (msg) {
  const d = msg.data;
  const body = $('orders-body');
  const empty = body.querySelector ('tr.empty');
  if (empty)
    empty.remove ();
  let row = body.querySelector ('tr[data-order="' + CSS.escape (d.order_id) + '"]');
  if (!row) {
    row = document.createElement ('tr');
    row.dataset.order = d.order_id;
    for (const name of ['time', 'provider', 'order', 'symbol', 'side', 'qty', 'filled', 'avg', 'status']) {
      const cell = document.createElement ('td');
      cell.className = name + (['qty', 'filled', 'avg'].includes (name) ? ' num' : '');
      row.appendChild (cell);
    }
    body.prepend (row);
    while (body.children.length > 50)
      body.lastChild.remove ();
  }
  const set = (name, text) => { row.querySelector ('.' + name).textContent = text; };
  set ('time', d.exchange_update_timestamp || d.order_timestamp || '—');
  set ('provider', msg.provider);
  set ('order', d.order_id);
  set ('symbol', (d.exchange ? d.exchange + ':' : '') + (d.tradingsymbol || ''));
  set ('side', d.transaction_type || '—');
  set ('qty', count (d.quantity));
  set ('filled', count (d.filled_quantity));
  set ('avg', typeof d.average_price === 'number' && d.average_price ? price (d.average_price) : '—');
  set ('status', d.status);
  const status = row.querySelector ('.status');
  status.classList.toggle ('up', d.status === 'COMPLETE');
  status.classList.toggle ('down', d.status === 'REJECTED' || d.status === 'CANCELLED');
}

function onMessage (msg) {
  switch (msg.type) {
    case 'MARKET_DATA':
      state.ticks.set (msg.symbol, msg);
      state.dirty.add (msg.symbol);
      if (typeof msg.data.pub_ts === 'number' && typeof msg.data.recv_ts === 'number')
        addLatencySample (msg.provider, (msg.data.pub_ts - msg.data.recv_ts) / 1e6);
      schedulePaint ();
      break;
    case 'PROVIDER_STATUS': {
      const p = provider (msg.provider);
      const changed = !p.status || p.status.state !== msg.state;
      p.status = msg;
      if (changed)
        log (msg.provider + ' is ' + msg.state + (msg.reason ? ' (' + msg.reason + ')' : ''),
             msg.state !== 'CONNECTED' && msg.state !== 'CONNECTING');
      paintCard (msg.provider);
      break;
    }
    case 'ANALYTICS':
      state.analytics = true;
      //  The provider's own latency (its exchange stamp to our receipt), over the last 10 s
      for (const [name, stages] of Object.entries (msg.latency || {})) {
        const p = provider (name);
        const q = stages && stages.exchange_to_receive && stages.exchange_to_receive ['10s'];
        if (q && q.count > 0) {
          p.p50 = q.p50_ms;
          p.p99 = q.p99_ms;
        }
      }
      break;
    case 'FAILOVER': {
      const text = msg.symbol + ': ' + msg.from + ' → ' + msg.to + ' (' + msg.reason + ') at ' +
                   new Date ().toLocaleTimeString ();
      provider (msg.from).failover = text;
      provider (msg.to).failover = text;
      log ('failover ' + text, true);
      break;
    }
    case 'ORDER_UPDATE':
      orderRow (msg);
      log (msg.provider + ' order ' + msg.data.order_id + ' ' + msg.data.status, false);
      break;
    case 'GAP':
      log ('gap on ' + msg.symbol + ': ' + JSON.stringify (msg), true);
      break;
    case 'ERROR':
      if (msg.code === 'CHANNEL_UNAVAILABLE')
        break;              //  ANALYTICS before its issue lands: we measure latency ourselves
      if (msg.code === 'UNKNOWN_SYMBOL' && msg.symbol) {
        log (msg.message, true);
        removeSymbol (msg.symbol);
        break;
      }
      log (msg.code + ': ' + msg.message, true);
      break;
    case 'SUBSCRIBED':
    case 'UNSUBSCRIBED':
    case 'PONG':
      break;
    default:
      log ('unexpected message ' + msg.type, true);
  }
}

function connect () {
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + withToken ('/ws');
  const ws = new WebSocket (url);
  state.ws = ws;
  ws.onopen = () => {
    state.backoff = 500;
    $('link').textContent = 'live';
    $('link').className = 'pill up';
    send ({ type: 'SUBSCRIBE', channel: 'STATUS' });
    send ({ type: 'SUBSCRIBE', channel: 'ANALYTICS' });
    send ({ type: 'SUBSCRIBE', channel: 'ORDERS' });
    if (state.watch.length)
      send ({ type: 'SUBSCRIBE', symbols: state.watch, provider: 'ALL' });
  };
  ws.onmessage = event => {
    let msg;
    try {
      msg = JSON.parse (event.data);
    } catch (e) {
      log ('not JSON from the gateway: ' + String (event.data).slice (0, 80), true);
      return;
    }
    onMessage (msg);
  };
  ws.onclose = event => {
    state.ws = null;
    $('link').textContent = 'reconnecting (' + event.code + ')';
    $('link').className = 'pill down';
    setTimeout (connect, state.backoff);
    state.backoff = Math.min (state.backoff * 2, 10000);
  };
}

async function loadSymbols () {
  try {
    const reply = await fetch (withToken ('/ws/symbols'), { cache: 'no-store' });
    const doc = await reply.json ();
    const names = new Set ();
    for (const list of Object.values (doc.providers || {}))
      list.forEach (s => names.add (s));
    const datalist = $('symbol-list');
    datalist.replaceChildren (...[...names].sort ().map (s => {
      const option = document.createElement ('option');
      option.value = s;
      return option;
    }));
  } catch (e) { /* no suggestions; typing a symbol still works */ }
}

function start () {
  state.watch.forEach (rowFor);
  $('add-form').addEventListener ('submit', event => {
    event.preventDefault ();
    addSymbol ($('add-symbol').value);
    $('add-symbol').value = '';
  });
  connect ();
  loadSymbols ();
  pollStats ();
  setInterval (pollStats, 1000);
  setInterval (() => { $('clock').textContent = new Date ().toLocaleTimeString (); }, 1000);
}

start ();
