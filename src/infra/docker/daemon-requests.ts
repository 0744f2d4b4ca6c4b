/**
 * The few plain requests the log readers make of the daemon (an inspect, a
 * wait, a log stream), over either of two transports: a bare socket request
 * (node:http, as the ping is made), for the web role, which must not load
 * dockerode (lazy-engine.ts); or dockerode's modem, for the engines that
 * already speak through it. Neither adds a deadline: the caller's signal
 * says when to give up.
 */
import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import type { DockerTls } from './host.js';
import { dockerTarget, dockerTlsAgent } from './host.js';

type Query = Record<string, string>;

export interface DaemonRequests {
  /** The answer's JSON; null on 404. Throws the daemon's words, with its status, on any other failure. */
  json<T>(method: 'GET' | 'POST', path: string, query: Query, signal: AbortSignal): Promise<T | null>;
  /** A GET whose answer streams: its body once the headers say 200; null on 404. */
  stream(path: string, query: Query, signal: AbortSignal): Promise<Readable | null>;
}

/** An error as dockerode makes them (daemon-errors.ts reads both alike): the daemon's status and its `message`. */
function daemonFailure(status: number, body: string): Error {
  let message = body.trim();
  try {
    message = (JSON.parse(body) as { message?: string }).message ?? message;
  } catch {
    // Not JSON: the text is the message.
  }
  return Object.assign(new Error(message || `docker answered ${status}`), { statusCode: status, json: { message } });
}

/** At most this much of an error body is read: the daemon's message, not whatever a proxy might send. */
const ERROR_BODY_MAX_BYTES = 64 * 1024;

function readText(res: IncomingMessage, maxBytes = Number.POSITIVE_INFINITY): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      if (text.length < maxBytes) text += chunk;
    });
    res.on('end', () => resolve(text));
    res.on('error', reject);
  });
}

/** Over a bare socket request to RTMANAGER_DOCKER_HOST (with its TLS), no dockerode. */
export function bareDaemonRequests(host: string, tls: DockerTls | null): DaemonRequests {
  const target = dockerTarget(host, tls);
  const where = 'socketPath' in target ? { socketPath: target.socketPath } : { host: target.host, port: target.port };
  // No connection is kept for later: a closed reader leaves nothing open at the daemon, not even an idle socket.
  const secure = 'tls' in target && target.tls ? { agent: dockerTlsAgent(target.tls, { keepAlive: false }) } : null;
  const send = (method: string, path: string, query: Query, signal: AbortSignal) =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const search = new URLSearchParams(query).toString();
      const options = { ...where, method, path: search ? `${path}?${search}` : path, signal, headers: { 'content-length': 0 } };
      const req = secure ? https.request({ ...options, ...secure }, resolve) : http.request({ ...options, agent: false }, resolve);
      req.on('error', reject);
      req.end();
    });
  const answered = async (res: IncomingMessage): Promise<IncomingMessage | null> => {
    if (res.statusCode === 200) return res;
    const body = await readText(res, ERROR_BODY_MAX_BYTES);
    if (res.statusCode === 404) return null;
    throw daemonFailure(res.statusCode ?? 0, body);
  };
  return {
    async json<T>(method: 'GET' | 'POST', path: string, query: Query, signal: AbortSignal) {
      const res = await answered(await send(method, path, query, signal));
      return res ? (JSON.parse(await readText(res)) as T) : null;
    },
    async stream(path, query, signal) {
      return answered(await send('GET', path, query, signal));
    },
  };
}

/** Through dockerode's modem: its path takes the query after a trailing `?`. */
export function modemDaemonRequests(docker: Dockerode): DaemonRequests {
  const dial = <T>(method: string, path: string, query: Query, signal: AbortSignal, isStream: boolean) =>
    new Promise<T | null>((resolve, reject) => {
      docker.modem.dial(
        {
          path: `${path}?`,
          method,
          isStream,
          // A POST's options are also its JSON body: the query goes as the query, and the body stays empty.
          options: { _query: query, _body: {} },
          abortSignal: signal,
          statusCodes: { 200: true, 404: 'not found', 500: 'server error' },
        },
        (error, data) => {
          if (!error) resolve(data as T);
          else if ((error as { statusCode?: number }).statusCode === 404) resolve(null);
          else reject(error);
        },
      );
    });
  return {
    json: (method, path, query, signal) => dial(method, path, query, signal, false),
    stream: (path, query, signal) => dial<Readable>('GET', path, query, signal, true),
  };
}
