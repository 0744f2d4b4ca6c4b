// The shared suite on the machine's default engine; test/swarm runs it again on the one-node swarm.
import { crashPolicySuite } from '../suites/crash-policy.suite.js';

crashPolicySuite();
