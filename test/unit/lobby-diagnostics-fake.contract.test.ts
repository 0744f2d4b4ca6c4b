import { describeLobbyDiagnosticsContract } from '../contracts/lobby-diagnostics.contract.js';
import { FakeLobbyDiagnostics } from '../fakes/fake-lobby-diagnostics.js';

describeLobbyDiagnosticsContract('fake', () => {
  const port = new FakeLobbyDiagnostics();
  return Promise.resolve({
    port,
    know: (gameId, game) => Promise.resolve(void port.games.set(gameId, { ...game })),
    breakDown: () => Promise.resolve(void (port.fail = new Error('lobby answered 503'))),
    cleanup: () => Promise.resolve(),
  });
});
