// The graceful stop suite on the machine's default engine; test/swarm runs it again on the one-node swarm.
import { gracefulStopSuite } from '../suites/graceful-stop.suite.js';

gracefulStopSuite();
