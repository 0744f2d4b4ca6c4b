import type { Config } from '../../src/config.js';
import { loadConfig } from '../../src/config.js';

/** The configuration a test boots with: every default, auth off, and the test's own values. */
export function testConfig(env: Record<string, string> = {}): Config {
  const result = loadConfig({ RTMANAGER_AUTH_DISABLED: 'true', ...env });
  if (!result.ok) throw new Error(`test configuration is invalid:\n${result.errors.join('\n')}`);
  return result.config;
}
