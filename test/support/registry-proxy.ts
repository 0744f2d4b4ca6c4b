/**
 * Stand-ins for a registry under strain, on loopback ports the engine treats
 * as insecure-allowed registries (an image ref `127.0.0.1:PORT/repo:tag`):
 * a TCP proxy in front of the test registry that counts the requests it
 * carries and can pace the registry's replies (a slow pull), and a registry
 * that answers 503 to everything (one that is down). The shared registry
 * itself is never stopped.
 */
import http from 'node:http';
import net from 'node:net';

export interface ProxiedRequest {
  method: string;
  path: string;
}

export interface RegistryProxy {
  /** `127.0.0.1:PORT`: the registry part of refs that go through the proxy. */
  host: string;
  /** Every request the daemon sent through, in order. */
  requests: ProxiedRequest[];
  /** Requests for manifests (`/v2/…/manifests/…`) and blobs (`/v2/…/blobs/sha256:…`), GET and HEAD alike. */
  manifestRequests(): ProxiedRequest[];
  blobGets(): ProxiedRequest[];
  close(): Promise<void>;
}

const SLICE_MS = 50;

/**
 * `bytesPerSecond` paces what the registry sends back (all connections
 * together); unset, the proxy only counts. The daemon's pull requests carry
 * no bodies, so a request ends with its headers.
 */
export async function registryProxy(opts: { upstream: string; bytesPerSecond?: number }): Promise<RegistryProxy> {
  const [upstreamHost, upstreamPort] = opts.upstream.split(':');
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<net.Socket>();
  const pace = opts.bytesPerSecond ? pacer(opts.bytesPerSecond) : null;
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(upstreamPort), upstreamHost);
    sockets.add(client).add(upstream);
    let pending = '';
    client.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        const [method = '', path = ''] = pending.slice(0, pending.indexOf('\r\n')).split(' ');
        requests.push({ method, path });
        pending = pending.slice(end + 4);
      }
      upstream.write(chunk);
    });
    // What the registry sent is delivered, paced, before its end is passed on.
    let sending: Promise<void> = Promise.resolve();
    upstream.on('data', (chunk: Buffer) => {
      if (!pace) {
        client.write(chunk);
        return;
      }
      upstream.pause();
      sending = pace(chunk, (slice) => client.write(slice)).then(() => void upstream.resume());
    });
    upstream.on('end', () => void sending.then(() => client.end()));
    client.on('end', () => upstream.end());
    const abort = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', abort).on('close', () => {
      sockets.delete(client);
      upstream.destroy();
    });
    upstream.on('error', abort).on('close', () => sockets.delete(upstream));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    manifestRequests: () => requests.filter((r) => /^\/v2\/.+\/manifests\//.test(r.path)),
    blobGets: () => requests.filter((r) => r.method === 'GET' && /^\/v2\/.+\/blobs\/sha256:/.test(r.path)),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Sends each chunk in slices, no faster than `bytesPerSecond` over all callers: each slice is followed by the time it is worth. */
function pacer(bytesPerSecond: number) {
  const perSlice = Math.max(1, Math.floor((bytesPerSecond * SLICE_MS) / 1000));
  let queue: Promise<void> = Promise.resolve();
  return (chunk: Buffer, send: (slice: Buffer) => void): Promise<void> => {
    const sent = queue.then(async () => {
      for (let at = 0; at < chunk.length; at += perSlice) {
        const slice = chunk.subarray(at, at + perSlice);
        send(slice);
        await new Promise((r) => setTimeout(r, (slice.length * 1000) / bytesPerSecond));
      }
    });
    queue = sent;
    return sent;
  };
}

/** A registry that is down: every request answers 503. */
export async function unavailableRegistry(): Promise<{ host: string; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const server = http.createServer((_, res) => {
    hits += 1;
    res.writeHead(503, { 'content-type': 'text/plain' }).end('registry down for maintenance');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    hits: () => hits,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
