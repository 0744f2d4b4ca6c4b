/**
 * What each backend's engine declares it can do (DockerEngine.capabilities),
 * apart from the engines and without dockerode: the lazy engine the web role
 * holds declares it before it loads its engine, if ever.
 */
import type { EngineCapabilities } from '../../domain/engine-port.js';

/** One engine: a recreate is a stop and a start. */
export const CONTAINER_ENGINE_CAPABILITIES: EngineCapabilities = Object.freeze({ replaceInPlace: false });

/** A Swarm service: a rolling update, rolled back on failure. */
export const SWARM_ENGINE_CAPABILITIES: EngineCapabilities = Object.freeze({ replaceInPlace: true });
