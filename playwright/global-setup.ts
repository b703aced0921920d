// Serves the editor harness (playwright/.harness, built by
// playwright/harness.webpack.ts) on a free port of 127.0.0.1 for the specs.
import fs from 'fs';
import http from 'http';
import { AddressInfo } from 'net';
import path from 'path';

const root = path.join(__dirname, '.harness');
const page = '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Vigil editors</title></head>' +
  '<body style="background:#111217;color:#ccccdc"><div id="root"></div><script src="/harness.js"></script></body></html>';

export default async function globalSetup() {
  if (!fs.existsSync(path.join(root, 'harness.js'))) {
    throw new Error('the harness is not built: run `npm run e2e:harness` first');
  }
  const server = http.createServer((req, res) => {
    const name = path.normalize(decodeURIComponent((req.url ?? '/').split('?')[0])).replace(/^(\.\.[/\\])+/, '');
    if (name === '/' || name === '\\') {
      res.writeHead(200, { 'Content-Type': 'text/html' }).end(page);
      return;
    }
    const file = path.join(root, name);
    if (!file.startsWith(root) || !fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/javascript' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.env.HARNESS_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return async () => {
    await new Promise((resolve) => server.close(resolve));
  };
}
