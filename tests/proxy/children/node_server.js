// Test child for out-of-process hosting: a Node.js server on the stock `http` module (no npm
// packages), listening on 127.0.0.1:$ASPNETCORE_PORT. Node's own defaults are kept (keep-alive,
// timeouts, chunked framing): the point is a server nobody here wrote.
//
// Every start appends its pid to ./pids (the working directory is the site's physical_path).
//   any other path   JSON: method, path, status, body_length, body_sha256, pid, the token in the
//                    environment and in MS-ASPNETCORE-TOKEN, X-Forwarded-For, X-Test; ?status=N
//                    sets the status; X-Child: node and X-Echo-Test: <X-Test> on the response
//   /download?n=N    N bytes, Content-Length, byte i = i % 251
//   /stream?id=X     chunked: "part 1 of 3\n", then each next part once /release?id=X was asked
//                    (30 s bound: then "timeout\n" and the end)
//   /release?id=X    releases the next part of stream X: 200, or 409 when X is not waiting
//   /die-mid         Content-Length 1000000, 1000 bytes, then the process exits (code 7)
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');

const PORT = Number(process.env.ASPNETCORE_PORT);
const TOKEN = process.env.ASPNETCORE_TOKEN || '';
const PATTERN = Buffer.alloc(251 * 4096);
for (let i = 0; i < PATTERN.length; i++) PATTERN[i] = i % 251;
const waiting = new Map(); // stream id -> function that releases its next part

function sendJson(res, status, obj) {
  const data = Buffer.from(JSON.stringify(obj, null, 1)); // "key": value, as json_str() reads
  res.writeHead(status, {'Content-Type': 'application/json', 'Content-Length': data.length});
  res.end(data);
}

function download(res, n) {
  res.writeHead(200, {'Content-Type': 'application/octet-stream', 'Content-Length': n});
  let left = n;
  const pump = () => {
    while (left > 0) {
      const k = Math.min(left, PATTERN.length);
      left -= k;
      // The pattern block is a multiple of 251 long, so every block starts at byte 0 of it.
      if (!res.write(k === PATTERN.length ? PATTERN : PATTERN.subarray(0, k))) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

function stream(res, id) {
  res.writeHead(200, {'Content-Type': 'text/plain'}); // no Content-Length: chunked
  const writePart = (part) => {
    if (part === 3) {
      res.end('part 3 of 3\n');
      return;
    }
    // Registered before the part is written: a /release sent after the part arrived finds it.
    const timer = setTimeout(() => {
      waiting.delete(id);
      res.end('timeout\n');
    }, 30000);
    waiting.set(id, () => {
      clearTimeout(timer);
      waiting.delete(id);
      writePart(part + 1);
    });
    res.write(`part ${part} of 3\n`);
  };
  writePart(1);
}

function dieMid(res) {
  res.writeHead(200, {'Content-Type': 'text/plain', 'Content-Length': 1000000});
  // Exits once the part is handed to the kernel: the proxy has a started response to cut.
  res.write(Buffer.alloc(1000, 'y'), () => process.exit(7));
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const query = url.searchParams;
  if (url.pathname === '/download') return download(res, Number(query.get('n') || 1048576));
  if (url.pathname === '/stream') return stream(res, query.get('id') || 'x');
  if (url.pathname === '/die-mid') return dieMid(res);
  if (url.pathname === '/release') {
    const release = waiting.get(query.get('id') || 'x');
    if (!release) return sendJson(res, 409, {released: false});
    release();
    return sendJson(res, 200, {released: true});
  }
  const hash = crypto.createHash('sha256');
  let length = 0;
  req.on('data', (chunk) => {
    hash.update(chunk);
    length += chunk.length;
  });
  req.on('end', () => {
    res.setHeader('X-Child', 'node');
    if (req.headers['x-test'] !== undefined) res.setHeader('X-Echo-Test', req.headers['x-test']);
    sendJson(res, Number(query.get('status') || 200), {
      server: 'node',
      method: req.method,
      path: url.pathname,
      body_length: length,
      body_sha256: hash.digest('hex'),
      pid: process.pid,
      token_env: TOKEN,
      token_header: req.headers['ms-aspnetcore-token'] || '',
      forwarded_for: req.headers['x-forwarded-for'] || '',
      x_test: req.headers['x-test'] || '',
    });
  });
});

fs.appendFileSync('pids', `${process.pid}\n`);
server.listen(PORT, '127.0.0.1', () => {
  console.log(`node_server: listening on 127.0.0.1:${PORT} pid ${process.pid}`);
});
