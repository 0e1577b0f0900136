'use strict';
/*
 * One of the three small backend services that the express trial app (app.js) calls
 * over HTTP on 127.0.0.1: pricing, inventory or reviews. Each answers any GET with
 * `?item=N` after a realistic small delay (setTimeout), with JSON derived from N, and
 * GET /health at once. No Server-Timing header.
 *
 *   node backend.js NAME [PORT]        NAME: pricing | inventory | reviews; PORT 0 = any
 *
 * Started by bench/trial/trial.sh (one process per backend, shared by base and head),
 * or forked by app.js when it is not given the backends' URLs: then it reports its
 * port to the parent over IPC and exits when the parent goes away.
 */
const http = require('http');

// delay range in ms per backend (uniform)
const DELAYS = { pricing: [2, 4], inventory: [3, 6], reviews: [4, 8] };

const NAME = process.argv[2];
const PORT = Number(process.argv[3] || process.env.PORT || 0);
if (!(NAME in DELAYS)) {
  console.error(`backend: NAME must be one of ${Object.keys(DELAYS).join(', ')}, not ${NAME}`);
  process.exit(2);
}

// mulberry32: a small seeded PRNG, so that delays are reproducible per process
function mulberry32(seed) {
  let a = seed >>> 0;
  return function () {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rng = mulberry32({ pricing: 11, inventory: 22, reviews: 33 }[NAME]);
const [lo, hi] = DELAYS[NAME];

// a deterministic hash of an item id, for the payloads
function h(n, k) {
  let x = (Math.imul(n ^ 0x9e3779b9, 0x85ebca6b) + k * 0xc2b2ae35) >>> 0;
  x ^= x >>> 13;
  x = Math.imul(x, 0x27d4eb2d) >>> 0;
  return (x ^ (x >>> 15)) >>> 0;
}

const WORDS = ['solid', 'fast delivery', 'as described', 'great value', 'a bit small',
  'would buy again', 'sturdy', 'nice colour', 'packaging was damaged', 'works fine'];

function payload(item) {
  switch (NAME) {
    case 'pricing': {
      const list = 5 + (h(item, 1) % 9500) / 100;
      const discount = [0, 0, 0, 5, 10, 15][h(item, 2) % 6];
      return {
        item, currency: 'EUR', list_price: Math.round(list * 100) / 100, discount_pct: discount,
        price: Math.round(list * (100 - discount)) / 100, valid_for_s: 300,
      };
    }
    case 'inventory': {
      const warehouses = ['AMS', 'FRA', 'MAD', 'WAW'].map((w, k) => ({ warehouse: w, units: h(item, 10 + k) % 40 }));
      const total = warehouses.reduce((s, w) => s + w.units, 0);
      return { item, in_stock: total > 0, units: total, warehouses, eta_days: 1 + (h(item, 3) % 5) };
    }
    default: {
      const count = h(item, 4) % 500;
      const top = [0, 1, 2].map((k) => ({
        rating: 1 + (h(item, 20 + k) % 5),
        text: `${WORDS[h(item, 30 + k) % WORDS.length]}, ${WORDS[h(item, 40 + k) % WORDS.length]}`,
      }));
      return { item, count, rating: count ? 1 + (h(item, 5) % 400) / 100 : null, top };
    }
  }
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://backend');
  if (url.pathname === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`{"ok":true,"backend":"${NAME}"}`);
    return;
  }
  const item = Number(url.searchParams.get('item'));
  if (!Number.isInteger(item) || item < 0) {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end('{"error":"item must be a non-negative integer"}');
    return;
  }
  const delay = lo + rng() * (hi - lo);
  setTimeout(() => {
    const body = JSON.stringify(payload(item));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }, delay);
});
// The app keeps its connections to the backends alive between rounds: keep them
// open longer than any idle gap, so that no request races an idle close.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;

server.listen(PORT, '127.0.0.1', () => {
  const port = server.address().port;
  if (process.send) {
    process.send({ backend: NAME, port });
    process.on('disconnect', () => process.exit(0));
  } else {
    console.log(`backend ${NAME} on 127.0.0.1:${port}, delay ${lo}-${hi} ms`);
  }
});

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
