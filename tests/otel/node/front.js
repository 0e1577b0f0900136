// A product page for tests/traces_real.rs, instrumented with no code of its own:
// run it as `node --require @opentelemetry/auto-instrumentations-node/register
// front.js` (the stock SDK with its http and express instrumentations, from npm).
//
// `GET /product/:id` calls three backends over HTTP (pricing, inventory and
// reviews, served by this same process on its own port, each taking about 15 ms).
// With `SCENARIO=serial` head makes the calls one after another; base (and every
// other scenario) makes them in parallel.
'use strict';
const express = require('express');
const http = require('http');

const side = process.env.TAILGATE_SIDE || 'base';
const serial = side === 'head' && process.env.SCENARIO === 'serial';
const port = Number(process.env.PORT);

function call(path) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: keepAlive }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve(JSON.parse(body)));
      })
      .on('error', reject);
  });
}
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 64 });

const app = express();
app.get('/health', (req, res) => res.send('ok'));
for (const name of ['pricing', 'inventory', 'reviews']) {
  app.get(`/${name}/:id`, (req, res) => {
    setTimeout(() => res.json({ [name]: Number(req.params.id) }), 15);
  });
}
app.get('/product/:id', async (req, res, next) => {
  try {
    const id = req.params.id;
    const paths = [`/pricing/${id}`, `/inventory/${id}`, `/reviews/${id}`];
    let parts;
    if (serial) {
      parts = [];
      for (const p of paths) parts.push(await call(p));
    } else {
      parts = await Promise.all(paths.map(call));
    }
    res.json(Object.assign({ id: Number(id) }, ...parts));
  } catch (e) {
    next(e);
  }
});

app.listen(port, '127.0.0.1', () => console.log(`listening on ${port}`));
