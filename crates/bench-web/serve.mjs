// What the browser benchmarks' runners share: serve a bench site on 127.0.0.1, open one of its
// pages in Debian's headless Chromium through Playwright (playwright-core from tests/e2e, no
// downloaded browser), forward the page's console, and close everything afterwards.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../tests/e2e/package.json', import.meta.url));
export const { chromium } = require('playwright-core');

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

// Serves the directory `root` on 127.0.0.1:`port` (0: any free port), every answer `no-store`.
export async function serveSite(root, port = 0) {
  root = path.resolve(root);
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/^\/+/, '') || 'index.html';
    const file = path.resolve(root, rel);
    if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      console.log(`  server: 404 ${req.url}`);
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', ok);
  });
  return server;
}

// Calls `fn(page)` on `page` of the site in BENCH_SITE (set by the xtask); returns what it returns
// and the browser's version.
export async function withBenchPage(pagePath, fn) {
  const site = process.env.BENCH_SITE;
  if (!site) throw new Error('BENCH_SITE must be set (run through `cargo xtask bench ...`)');
  const server = await serveSite(site);
  const url = `http://127.0.0.1:${server.address().port}/${pagePath}`;
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => console.log(`  page: ${m.text()}`));
    page.on('pageerror', (e) => console.log(`  page error: ${e.message}`));
    await page.goto(url);
    return { out: await fn(page), version: browser.version() };
  } finally {
    await browser.close();
    server.close();
  }
}
