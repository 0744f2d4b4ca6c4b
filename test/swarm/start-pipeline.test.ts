// The shared suite again, on the one-node swarm (this project sets RTM_TEST_BACKEND=swarm).
import { startPipelineSuite } from '../suites/start-pipeline.suite.js';

startPipelineSuite();
