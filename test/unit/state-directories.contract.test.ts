import { describeStateDirectoriesContract } from '../contracts/state-directories.contract.js';
import { FakeStateDirectories } from '../fakes/support.js';

describeStateDirectoriesContract('fake', () => {
  const root = '/srv/game-state';
  const port = new FakeStateDirectories(root);
  return Promise.resolve({
    port,
    root,
    entries: () => Promise.resolve(port.prepared.map((p) => p.slice(root.length + 1))),
    plant: (gameId, kind) => Promise.resolve(void port.planted.set(gameId, kind)),
    cleanup: () => Promise.resolve(),
  });
});
