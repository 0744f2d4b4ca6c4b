// The graceful stop suite again, on the one-node swarm (this project sets RTM_TEST_BACKEND=swarm).
import { gracefulStopSuite } from '../suites/graceful-stop.suite.js';

gracefulStopSuite();
