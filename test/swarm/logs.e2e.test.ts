// The shared suite again, on the one-node swarm (this project sets RTM_TEST_BACKEND=swarm): a game's output is its task's.
import { logsSuite } from '../suites/logs.suite.js';

logsSuite();
