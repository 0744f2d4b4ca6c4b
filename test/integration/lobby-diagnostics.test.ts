/**
 * The LobbyDiagnostics contract on HttpLobbyDiagnostics, against a lobby of
 * the test's own: a loopback HTTP server answering the Lobby's internal API,
 * under a base URL with a path (and no trailing slash) as an operator may set
 * RTMANAGER_LOBBY_BASE_URL. Then what only the HTTP adapter does.
 */
import http from 'node:http';
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { HttpLobbyDiagnostics } from '../../src/infra/lobby.js';
import { describeLobbyDiagnosticsContract } from '../contracts/lobby-diagnostics.contract.js';
import type { LobbyGame } from '../fakes/fake-lobby-diagnostics.js';

const PREFIX = '/lobby/api/v1/internal/games/';

interface TinyLobby {
  baseUrl: string;
  games: Map<string, Record<string, unknown>>;
  /** Answers 503 to everything from now on. */
  broken: boolean;
  /** Requests the server received: method, URL and accept header. */
  seen: Array<{ method: string; url: string; accept: string | undefined }>;
  /** Takes each request instead of the lobby's answer (the response is then the handler's to end, or not). */
  hold: ((req: http.IncomingMessage, res: http.ServerResponse) => void) | null;
  close(): Promise<void>;
}

async function tinyLobby(): Promise<TinyLobby> {
  const sockets = new Set<net.Socket>();
  const lobby: Omit<TinyLobby, 'baseUrl' | 'close'> = { games: new Map(), broken: false, seen: [], hold: null };
  const server = http.createServer((req, res) => {
    lobby.seen.push({ method: req.method ?? '', url: req.url ?? '', accept: req.headers.accept });
    if (lobby.hold) return lobby.hold(req, res);
    const reply = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (lobby.broken) return reply(503, { error: { code: 'service_unavailable', message: 'lobby down' } });
    const game = req.method === 'GET' && req.url?.startsWith(PREFIX) ? lobby.games.get(decodeURIComponent(req.url.slice(PREFIX.length))) : undefined;
    if (!game) return reply(404, { error: { code: 'not_found', message: 'no such game' } });
    return reply(200, game);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return Object.assign(lobby, {
    baseUrl: `http://127.0.0.1:${port}/lobby`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  });
}

/** The Lobby's wire record of a game: snake_case, the version only when it has one. */
const wire = (gameId: string, game: LobbyGame) => ({
  game_id: gameId,
  status: game.status,
  ...(game.targetEngineVersion === undefined ? {} : { target_engine_version: game.targetEngineVersion }),
});

describeLobbyDiagnosticsContract('http', async () => {
  const lobby = await tinyLobby();
  return {
    port: new HttpLobbyDiagnostics(lobby.baseUrl),
    know: (gameId, game) => Promise.resolve(void lobby.games.set(gameId, wire(gameId, game))),
    breakDown: () => Promise.resolve(void (lobby.broken = true)),
    cleanup: () => lobby.close(),
  };
});

describe('HttpLobbyDiagnostics beyond the port contract', () => {
  it('GETs {base}/api/v1/internal/games/{game_id} asking for JSON', async () => {
    const lobby = await tinyLobby();
    try {
      lobby.games.set('g-1', wire('g-1', { status: 'starting' }));
      await new HttpLobbyDiagnostics(`${lobby.baseUrl}/`).getGame('g-1');
      await new HttpLobbyDiagnostics(lobby.baseUrl).getGame('g-1');
      expect(lobby.seen).toEqual([
        { method: 'GET', url: `${PREFIX}g-1`, accept: 'application/json' },
        { method: 'GET', url: `${PREFIX}g-1`, accept: 'application/json' },
      ]);
    } finally {
      await lobby.close();
    }
  });

  it("a status that is not a string reads as 'unknown', and a version that is not one is left out", async () => {
    const lobby = await tinyLobby();
    try {
      lobby.games.set('g-1', { game_id: 'g-1', status: 7, target_engine_version: ['1.0'] });
      expect(await new HttpLobbyDiagnostics(lobby.baseUrl).getGame('g-1')).toStrictEqual({ status: 'unknown' });
    } finally {
      await lobby.close();
    }
  });

  it('gives up on a lobby that never answers at its own timeout, and closes the connection', async () => {
    const lobby = await tinyLobby();
    try {
      // The request arrives and is never answered; the server sees the client hang up.
      let hungUp: () => void = () => undefined;
      const closed = new Promise<void>((resolve) => (hungUp = resolve));
      lobby.hold = (req, res) => res.on('close', () => hungUp());
      await expect(new HttpLobbyDiagnostics(lobby.baseUrl, 200).getGame('g-1')).rejects.toMatchObject({ name: 'TimeoutError' });
      // Bounded by the thing awaited: the adapter's abort is what closes the request, not the server.
      await closed;
      expect(lobby.seen).toHaveLength(1);
    } finally {
      await lobby.close();
    }
  });
});
