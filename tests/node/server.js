// A real Node server for tests/real_servers.rs: plain `http` or express, with a
// 1 s keep-alive timeout (Node's default is 5 s), on 127.0.0.1 and a port the
// system chooses; prints `listening on PORT` once it listens. `capped` is express
// that also closes each connection after its 100th request (Node's
// `maxRequestsPerSocket`, answered with `Connection: close`).
//   node server.js http|express|capped
'use strict';
const http = require('http');

const kind = process.argv[2] || 'http';
let handler;
if (kind === 'express' || kind === 'capped') {
  const express = require('express');
  const app = express();
  app.get('/', (req, res) => res.send('ok'));
  handler = app;
} else {
  handler = (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  };
}
const server = http.createServer(handler);
server.keepAliveTimeout = 1000;
if (kind === 'capped') {
  server.maxRequestsPerSocket = 100;
}
server.listen(0, '127.0.0.1', () => {
  console.log(`listening on ${server.address().port}`);
});
