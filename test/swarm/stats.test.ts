// The shared suite again, on the one-node swarm (this project sets RTM_TEST_BACKEND=swarm).
import { statsSuite } from '../suites/stats.suite.js';

statsSuite();
