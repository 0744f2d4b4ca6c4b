// Opens N followed log streams and holds them without reading a byte, prints
// `ready` once every one has its headers, then waits to be SIGKILLed: clients
// that vanish without closing their streams (test/e2e/logs-bounds.e2e.test.ts).
//   node vanishing-followers.mjs <url> <token> <n>
import http from 'node:http';
import process from 'node:process';
import { setInterval } from 'node:timers';

const [url, token, count] = [process.argv[2], process.argv[3], Number(process.argv[4])];
let ready = 0;
for (let i = 0; i < count; i++) {
  const req = http.get(url, { headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
    if (res.statusCode !== 200) {
      process.stdout.write(`status ${res.statusCode}\n`);
      process.exit(1);
    }
    res.pause();
    if (++ready === count) process.stdout.write('ready\n');
  });
  req.on('error', (error) => {
    process.stdout.write(`error ${error.message}\n`);
    process.exit(1);
  });
}
setInterval(() => undefined, 1 << 30);
