// The shared suite on the machine's default engine; test/swarm runs it again on the one-node swarm.
import { processesSuite } from '../suites/processes.suite.js';

processesSuite();
