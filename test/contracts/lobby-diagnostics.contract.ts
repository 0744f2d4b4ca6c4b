import { describe, expect, it } from 'vitest';
import type { LobbyDiagnostics } from '../../src/domain/ports.js';
import type { LobbyGame } from '../fakes/fake-lobby-diagnostics.js';
import { subjectRunner } from './subject.js';

export interface LobbyDiagnosticsSubject {
  port: LobbyDiagnostics;
  /** The lobby knows `gameId` from now on, with this record. */
  know: (gameId: string, game: LobbyGame) => Promise<void>;
  /** The lobby fails every request from now on (a real one answers 503). */
  breakDown: () => Promise<void>;
  cleanup(): Promise<void>;
}

export function describeLobbyDiagnosticsContract(name: string, make: () => Promise<LobbyDiagnosticsSubject>): void {
  describe(`LobbyDiagnostics contract: ${name}`, () => {
    const withSubject = subjectRunner(make);

    it(
      'answers a game the lobby knows with its status and target engine version',
      withSubject(async ({ port, know }) => {
        await know('g-1', { status: 'starting', targetEngineVersion: '1.4.2' });
        expect(await port.getGame('g-1')).toStrictEqual({ status: 'starting', targetEngineVersion: '1.4.2' });
      }),
    );

    it(
      'leaves the target engine version out when the lobby gives none',
      withSubject(async ({ port, know }) => {
        await know('g-1', { status: 'running' });
        const game = await port.getGame('g-1');
        expect(game).toStrictEqual({ status: 'running' });
        expect('targetEngineVersion' in game).toBe(false);
      }),
    );

    it(
      'answers each game with its own record, for any game id of the grammar',
      withSubject(async ({ port, know }) => {
        const longest = `A${'b_-9'.repeat(12)}xyz`; // 52 characters: the grammar's longest
        expect(longest).toHaveLength(52);
        await know('g-1', { status: 'starting', targetEngineVersion: '1.0.0' });
        await know('g-2', { status: 'finished' });
        await know(longest, { status: 'paused', targetEngineVersion: '2.0.0-rc.1' });
        expect(await port.getGame('g-2')).toStrictEqual({ status: 'finished' });
        expect(await port.getGame(longest)).toStrictEqual({ status: 'paused', targetEngineVersion: '2.0.0-rc.1' });
        expect(await port.getGame('g-1')).toStrictEqual({ status: 'starting', targetEngineVersion: '1.0.0' });
      }),
    );

    it(
      'rejects for a game the lobby does not know: never a made-up status',
      withSubject(async ({ port, know }) => {
        await know('g-1', { status: 'starting' });
        await expect(port.getGame('g-unknown')).rejects.toThrow(/404/);
      }),
    );

    it(
      'rejects while the lobby fails, even for a game it knew',
      withSubject(async ({ port, know, breakDown }) => {
        await know('g-1', { status: 'starting' });
        await breakDown();
        await expect(port.getGame('g-1')).rejects.toThrow();
      }),
    );
  });
}
