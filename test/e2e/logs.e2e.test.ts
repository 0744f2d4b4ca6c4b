// The shared suite on the machine's default engine; test/swarm runs it again on the one-node swarm.
import { logsSuite } from '../suites/logs.suite.js';

logsSuite();
