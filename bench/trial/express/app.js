'use strict';
/*
 * A small express + better-sqlite3 service for tailgate's real-service trial
 * (bench/trial/trial.sh with APP=express). It calls three backend services over HTTP
 * (pricing, inventory, reviews: backend.js) and sends no Server-Timing header.
 *
 * One code base, several "pull requests" chosen by the environment variable VARIANT;
 * each touches only its endpoint(s), the others are unchanged controls:
 *
 *   base         the reference
 *   readme       identical to base (stands for a comment-only change)
 *   serial       GET /offers/:id calls the three backends one after another, not with
 *                Promise.all
 *   n_plus_1     GET /orders runs one query per row (user, item) instead of one JOIN
 *   drop_index   GET /items/:code without the index on items.code: a full table scan
 *   lost_cache   GET /users/:id recomputes the user's order stats (an aggregate query)
 *                on every request: base memoises them in a Map
 *   select_star  GET /users/:id selects * (with the large `bio` TEXT) and returns it all
 *   json_twice   POST /cart/quote parses its JSON body twice (a defensive deep copy)
 *   add_index    GET /search?tag= gets an index on items.tag: an improvement
 *   batched      POST /cart/quote looks up its items with one IN (...) query, not one
 *                query per line: an improvement
 *
 * The database is built at startup in a temp dir, deterministically (seeded PRNG, the
 * same data in every variant): 300k items, 20k users (with a 1-3 KB bio each), 1M
 * orders. The temp dir is removed on exit.
 *
 * Run: VARIANT=base PORT=8001 node app.js
 * The backends' URLs come from PRICING_URL, INVENTORY_URL and REVIEWS_URL (trial.sh
 * starts them); a missing one is forked from backend.js on a free port.
 * The HTTP server keeps node's default keep-alive (5 s) on purpose, like the FastAPI
 * trial: idle keep-alive closes between rounds must not count as errors.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const http = require('http');
const { fork } = require('child_process');
const express = require('express');
const Database = require('better-sqlite3');

const VARIANTS = new Set(['base', 'readme', 'serial', 'n_plus_1', 'drop_index', 'lost_cache',
  'select_star', 'json_twice', 'add_index', 'batched']);
const VARIANT = process.env.VARIANT || 'base';
if (!VARIANTS.has(VARIANT)) {
  console.error(`VARIANT must be one of ${[...VARIANTS].sort().join(', ')}, not ${JSON.stringify(VARIANT)}`);
  process.exit(2);
}
if (VARIANT === 'readme') {
  // A comment-only change: the readme variant runs exactly base's code.
}

const N_ITEMS = Number(process.env.TRIAL_ITEMS || 300_000);
const N_USERS = 20_000;
const N_ORDERS = Number(process.env.TRIAL_ORDERS || 1_000_000);
const N_TAGS = 500;
const T0 = Date.UTC(2024, 0, 1) / 1000;

/** The public item code of a row id (what /items/:code looks up). */
const codeOf = (id) => 1_000_000 + id * 7;

// mulberry32: a small seeded PRNG (Math.random cannot be seeded)
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

const WORDS = ('lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ' +
  'incididunt ut labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ' +
  'ullamco laboris nisi aliquip ex ea commodo consequat duis aute irure in reprehenderit ' +
  'voluptate velit esse cillum fugiat nulla pariatur excepteur sint occaecat cupidatat non ' +
  'proident sunt culpa qui officia deserunt mollit anim id est laborum').split(' ');

function buildDb(file) {
  const rng = mulberry32(1); // the same data in every variant
  const int = (n) => Math.floor(rng() * n);
  const db = new Database(file);
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.exec(`
    CREATE TABLE items(id INTEGER PRIMARY KEY, code INTEGER NOT NULL, name TEXT NOT NULL,
                       tag TEXT NOT NULL, price REAL NOT NULL, stock INTEGER NOT NULL);
    CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL,
                       created_at INTEGER NOT NULL, bio TEXT NOT NULL);
    CREATE TABLE orders(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL,
                        item_id INTEGER NOT NULL, qty INTEGER NOT NULL, created_at INTEGER NOT NULL);
  `);
  const fill = db.transaction(() => {
    const item = db.prepare('INSERT INTO items VALUES (?, ?, ?, ?, ?, ?)');
    for (let i = 0; i < N_ITEMS; i++) {
      item.run(i, codeOf(i), `item-${i}`, `t${int(N_TAGS)}`, Math.round(rng() * 10000) / 100, int(200));
    }
    const user = db.prepare('INSERT INTO users VALUES (?, ?, ?, ?, ?)');
    for (let u = 0; u < N_USERS; u++) {
      const len = 1000 + int(2000); // a 1-3 KB bio
      const words = [];
      let n = 0;
      while (n < len) {
        const w = WORDS[int(WORDS.length)];
        words.push(w);
        n += w.length + 1;
      }
      user.run(u, `user${u}`, `user${u}@example.test`, T0 + int(86400 * 365), words.join(' '));
    }
    const order = db.prepare('INSERT INTO orders VALUES (?, ?, ?, ?, ?)');
    for (let o = 0; o < N_ORDERS; o++) {
      order.run(o, int(N_USERS), int(N_ITEMS), 1 + int(4), T0 + o * 30);
    }
  });
  fill();
  db.exec('CREATE INDEX orders_user ON orders(user_id)');
  // drop_index: items.code loses its index (the same query then scans the table)
  if (VARIANT !== 'drop_index') db.exec('CREATE UNIQUE INDEX items_code ON items(code)');
  // base has no index on items.tag: /search scans the table; add_index adds it
  if (VARIANT === 'add_index') db.exec('CREATE INDEX items_tag ON items(tag)');
  db.exec('ANALYZE');
  db.close();
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `tailgate-trial-express-${VARIANT}-`));
const removeTmp = () => fs.rmSync(tmp, { recursive: true, force: true });
process.on('exit', removeTmp);
const children = [];
const shutdown = (code = 0) => {
  for (const c of children) c.kill();
  process.exit(code); // runs the exit handler: removes the database
};
process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));

const dbFile = path.join(tmp, 'trial.db');
const buildStart = process.hrtime.bigint();
buildDb(dbFile);
const BUILD_SECONDS = Number(process.hrtime.bigint() - buildStart) / 1e9;
const db = new Database(dbFile, { readonly: true });

// ---- backends over HTTP ------------------------------------------------------------

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function getJSON(base, pathAndQuery) {
  return new Promise((resolve, reject) => {
    const req = http.get(base + pathAndQuery, { agent, timeout: 2000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) {
          reject(new Error(`${base}${pathAndQuery}: HTTP ${res.statusCode}`));
          return;
        }
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (e) {
          reject(e);
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${base}${pathAndQuery}: timeout`)));
    req.on('error', reject);
  });
}

function forkBackend(name) {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'backend.js'), [name, '0'], { stdio: 'inherit' });
    children.push(child);
    child.once('message', (m) => resolve(`http://127.0.0.1:${m.port}`));
    child.once('exit', (code) => reject(new Error(`backend ${name} exited (${code})`)));
  });
}

async function backends() {
  const urls = {};
  for (const name of ['pricing', 'inventory', 'reviews']) {
    const env = process.env[`${name.toUpperCase()}_URL`];
    urls[name] = env ? env.replace(/\/+$/, '') : await forkBackend(name);
  }
  return urls;
}

// ---- queries -----------------------------------------------------------------------

const q = {
  itemByCode: db.prepare('SELECT id, code, name, tag, price, stock FROM items WHERE code = ?'),
  itemById: db.prepare('SELECT id, code, name, price, stock FROM items WHERE id = ?'),
  // n_plus_1's per-row lookups
  itemName: db.prepare('SELECT id, name, price FROM items WHERE id = ?'),
  userName: db.prepare('SELECT id, name FROM users WHERE id = ?'),
  ordersPage: db.prepare(`
    SELECT o.id, o.qty, o.created_at, o.user_id, u.name AS user, o.item_id, i.name AS item, i.price
    FROM orders o JOIN users u ON u.id = o.user_id JOIN items i ON i.id = o.item_id
    WHERE o.id < ? ORDER BY o.id DESC LIMIT ?`),
  ordersOnly: db.prepare(
    'SELECT id, qty, created_at, user_id, item_id FROM orders WHERE id < ? ORDER BY id DESC LIMIT ?'),
  user: db.prepare('SELECT id, name, email, created_at FROM users WHERE id = ?'),
  userStar: db.prepare('SELECT * FROM users WHERE id = ?'),
  userStats: db.prepare(`
    SELECT COUNT(*) AS orders, COALESCE(SUM(o.qty), 0) AS units,
           ROUND(COALESCE(SUM(o.qty * i.price), 0), 2) AS spent, MAX(o.created_at) AS last_order_at
    FROM orders o JOIN items i ON i.id = o.item_id WHERE o.user_id = ?`),
  userTopTags: db.prepare(`
    SELECT i.tag, SUM(o.qty) AS units FROM orders o JOIN items i ON i.id = o.item_id
    WHERE o.user_id = ? GROUP BY i.tag ORDER BY units DESC, i.tag LIMIT 3`),
  search: db.prepare(`
    SELECT COUNT(*) AS count, ROUND(AVG(price), 2) AS avg_price, MIN(price) AS min_price,
           MAX(price) AS max_price, SUM(stock) AS stock
    FROM items WHERE tag = ?`),
};

// batched: one prepared IN (...) statement per list length
const inStatements = new Map();
function itemsIn(ids) {
  let st = inStatements.get(ids.length);
  if (!st) {
    st = db.prepare(`SELECT id, code, name, price, stock FROM items WHERE id IN (${ids.map(() => '?').join(',')})`);
    inStatements.set(ids.length, st);
  }
  return st.all(ids);
}

// base's memo of the per-user order stats (filled on first use)
const statsCache = new Map();
function userStats(id) {
  if (VARIANT !== 'lost_cache') {
    const hit = statsCache.get(id);
    if (hit) return hit;
  }
  const stats = q.userStats.get(id);
  stats.top_tags = q.userTopTags.all(id);
  if (VARIANT !== 'lost_cache') statsCache.set(id, stats);
  return stats;
}

const intParam = (s) => (/^\d{1,12}$/.test(s) ? Number(s) : null);

// ---- the app -----------------------------------------------------------------------

function makeApp(urls) {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/health', (req, res) => {
    res.json({ ok: true, variant: VARIANT, build_s: Math.round(BUILD_SECONDS * 1000) / 1000 });
  });

  app.get('/items/:code', (req, res) => {
    const code = intParam(req.params.code);
    if (code === null) return res.status(400).json({ error: 'code must be an integer' });
    const row = q.itemByCode.get(code); // drop_index: a full scan
    if (!row) return res.status(404).json({ error: 'no such item' });
    res.json(row);
  });

  app.get('/offers/:id', async (req, res) => {
    const id = intParam(req.params.id);
    if (id === null) return res.status(400).json({ error: 'id must be an integer' });
    const item = q.itemById.get(id);
    if (!item) return res.status(404).json({ error: 'no such item' });
    const qs = `?item=${id}`;
    try {
      let pricing, inventory, reviews;
      if (VARIANT === 'serial') {
        pricing = await getJSON(urls.pricing, `/price${qs}`);
        inventory = await getJSON(urls.inventory, `/stock${qs}`);
        reviews = await getJSON(urls.reviews, `/summary${qs}`);
      } else {
        [pricing, inventory, reviews] = await Promise.all([
          getJSON(urls.pricing, `/price${qs}`),
          getJSON(urls.inventory, `/stock${qs}`),
          getJSON(urls.reviews, `/summary${qs}`),
        ]);
      }
      res.json({
        id: item.id, code: item.code, name: item.name,
        price: pricing.price, currency: pricing.currency, discount_pct: pricing.discount_pct,
        in_stock: inventory.in_stock, units: inventory.units, eta_days: inventory.eta_days,
        rating: reviews.rating, reviews: reviews.count, top_reviews: reviews.top,
      });
    } catch (e) {
      res.status(502).json({ error: `backend: ${e.message}` });
    }
  });

  app.get('/orders', (req, res) => {
    const limit = Math.min(intParam(req.query.limit ?? '50') ?? 50, 200);
    const before = intParam(req.query.before ?? String(N_ORDERS)) ?? N_ORDERS;
    let rows;
    if (VARIANT === 'n_plus_1') {
      rows = q.ordersOnly.all(before, limit).map((o) => {
        const u = q.userName.get(o.user_id);
        const i = q.itemName.get(o.item_id);
        return { ...o, user: u.name, item: i.name, price: i.price };
      });
    } else {
      rows = q.ordersPage.all(before, limit);
    }
    res.json({
      orders: rows.map((r) => ({
        id: r.id, created_at: r.created_at, user_id: r.user_id, user: r.user,
        item_id: r.item_id, item: r.item, qty: r.qty, amount: Math.round(r.price * r.qty * 100) / 100,
      })),
    });
  });

  app.get('/users/:id', (req, res) => {
    const id = intParam(req.params.id);
    if (id === null) return res.status(400).json({ error: 'id must be an integer' });
    // select_star: SELECT * brings the 1-3 KB bio along, and it is returned
    const user = VARIANT === 'select_star' ? q.userStar.get(id) : q.user.get(id);
    if (!user) return res.status(404).json({ error: 'no such user' });
    res.json({ ...user, stats: userStats(id) });
  });

  app.get('/search', (req, res) => {
    const tag = req.query.tag;
    if (typeof tag !== 'string' || tag.length < 1 || tag.length > 16) {
      return res.status(400).json({ error: 'tag: 1 to 16 characters' });
    }
    res.json({ tag, ...q.search.get(tag) }); // base: a full scan; add_index: the index
  });

  app.post('/cart/quote', express.json({ limit: '64kb' }), (req, res) => {
    // json_twice: a "defensive" deep copy of the already parsed body
    const body = VARIANT === 'json_twice' ? JSON.parse(JSON.stringify(req.body)) : req.body;
    const lines = body && Array.isArray(body.lines) ? body.lines : null;
    if (!lines || lines.length === 0 || lines.length > 200) {
      return res.status(400).json({ error: 'lines: 1 to 200 cart lines' });
    }
    const ids = [];
    for (const l of lines) {
      if (!Number.isInteger(l.item_id) || !Number.isInteger(l.qty) || l.qty < 1) {
        return res.status(400).json({ error: 'each line needs an integer item_id and qty >= 1' });
      }
      ids.push(l.item_id);
    }
    let byId;
    if (VARIANT === 'batched') {
      byId = new Map(itemsIn([...new Set(ids)]).map((r) => [r.id, r]));
    } else {
      byId = new Map();
      for (const id of ids) {
        const r = q.itemById.get(id);
        if (r) byId.set(id, r);
      }
    }
    const out = [];
    let subtotal = 0;
    for (const l of lines) {
      const item = byId.get(l.item_id);
      if (!item) return res.status(422).json({ error: `no such item: ${l.item_id}` });
      const total = Math.round(item.price * l.qty * 100) / 100;
      subtotal += total;
      out.push({
        item_id: item.id, code: item.code, name: item.name, qty: l.qty, unit_price: item.price,
        line_total: total, available: item.stock >= l.qty, gift_wrap: !!l.gift_wrap,
      });
    }
    const discountPct = body.coupon === 'WELCOME10' ? 10 : 0;
    const discount = Math.round(subtotal * discountPct) / 100;
    res.json({
      user_id: body.user_id ?? null, currency: body.currency || 'EUR', lines: out,
      subtotal: Math.round(subtotal * 100) / 100, discount, total: Math.round((subtotal - discount) * 100) / 100,
    });
  });

  return app;
}

async function main() {
  const urls = await backends();
  const port = Number(process.env.PORT || 8000);
  // node's default keep-alive (5 s) on purpose: see the top of this file
  const server = makeApp(urls).listen(port, '127.0.0.1', () => {
    console.log(`express trial (${VARIANT}) on 127.0.0.1:${port}, db built in ${BUILD_SECONDS.toFixed(1)} s`);
  });
  server.on('error', (e) => {
    console.error(e);
    shutdown(1);
  });
}

main().catch((e) => {
  console.error(e);
  shutdown(1);
});
