// The shared suite again, on the one-node swarm (this project sets RTM_TEST_BACKEND=swarm).
import { crashPolicySuite } from '../suites/crash-policy.suite.js';

crashPolicySuite();
