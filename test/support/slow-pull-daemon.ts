/**
 * A Docker endpoint for tests whose pulls are slow: every request is passed
 * to the real daemon, except `POST /images/create`, which streams progress
 * every 500 ms for `pullMs` and then reports the image up to date (the test
 * image is local, so the start goes on as after a real pull). A pull that
 * takes minutes on a real registry, in seconds and without one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface SlowPullDaemon {
  /** For RTMANAGER_DOCKER_HOST. */
  host: string;
  /** Pulls begun so far. */
  pulls(): number;
  close(): Promise<void>;
}

export async function slowPullDaemon(opts: { pullMs: number; upstream?: string }): Promise<SlowPullDaemon> {
  const upstream = opts.upstream ?? '/var/run/docker.sock';
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rtm-slow-pull-'));
  const socketPath = path.join(dir, 'docker.sock');
  const sockets = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let pulls = 0;

  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && /\/images\/create\b/.test(req.url ?? '')) {
      pulls += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      let done = 0;
      const progress = setInterval(() => {
        done += 1;
        res.write(`${JSON.stringify({ status: 'Downloading', id: 'layer', progressDetail: { current: done, total: 1_000 } })}\n`);
      }, 500);
      const finish = setTimeout(() => {
        clearInterval(progress);
        res.end(`${JSON.stringify({ status: 'Status: Image is up to date' })}\n`);
      }, opts.pullMs);
      timers.add(progress).add(finish);
      req.on('close', () => {
        clearInterval(progress);
        clearTimeout(finish);
      });
      return;
    }
    const forward = http.request({ socketPath: upstream, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      // At once, as the daemon does: a stream that is silent for a while (GET /events) must not wait for its first event to answer.
      res.flushHeaders();
      answer.pipe(res);
    });
    forward.on('error', (error) => res.destroy(error));
    req.pipe(forward);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));

  return {
    host: `unix://${socketPath}`,
    pulls: () => pulls,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
