/**
 * galaxy-test-engine:chatter (test/images/chatter/chatter.sh) as a program
 * of the fake engine: the same lines, at the same pace, steered by the same
 * environment (CHATTER_TICKS, CHATTER_TICK, CHATTER_EXIT).
 */
import type { RunSpec } from '../../src/domain/engine-port.js';
import type { FakeEngineIo } from './fake-docker-engine.js';

const NOT_UTF8 = new Uint8Array([...new TextEncoder().encode('bytes '), 0xff, 0xfe, ...new TextEncoder().encode(' end\n')]);

export function fakeChatter(engine: FakeEngineIo, spec: RunSpec): void {
  const ticks = Number(spec.env.CHATTER_TICKS ?? '0');
  const tickMs = Number(spec.env.CHATTER_TICK ?? '0.1') * 1000;
  const exitCode = Number(spec.env.CHATTER_EXIT ?? '0');
  engine.write('stdout', 'hello stdout\n');
  engine.write('stderr', 'hello stderr\n');
  engine.write('stdout', `${'0123456789'.repeat(2000)}\n`);
  engine.write('stdout', NOT_UTF8);
  engine.write('stdout', 'snow \u2603 man\n');
  engine.write('stdout', 'ready\n');
  let n = 0;
  const tick = () => {
    if (!engine.running()) return;
    if (ticks > 0 && n >= ticks) return engine.exit(exitCode);
    n++;
    engine.write('stdout', `tick ${n} out\n`);
    engine.write('stderr', `tick ${n} err\n`);
    setTimeout(tick, tickMs);
  };
  tick();
}
