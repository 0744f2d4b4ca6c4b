/**
 * Contract §16: the operator's window — how much a slow reader of an
 * engine's output may make the web process hold, and how many readers may
 * follow a stream at once.
 */
import { withDefault } from './declare.js';
import { int } from './parsers.js';

export const WINDOW = {
  logStream: {
    /** 16 KiB – 256 MiB; what one log stream holds for a reader that does not keep up; past it lines are dropped and the reader told how many (`{"dropped":N}`) once it catches up. A line is taken into an empty buffer whatever its size */
    bufferBytes: withDefault('RTMANAGER_LOG_STREAM_BUFFER_BYTES', int(16 * 1024, 256 * 1024 * 1024), '1048576', 'contract16'),
    /** 1–100000; followed streams (`follow=true` logs, and the live events) open at once; beyond, `503 service_unavailable` */
    maxFollowers: withDefault('RTMANAGER_LOG_STREAM_MAX_FOLLOWERS', int(1, 100_000), '100', 'contract16'),
  },
};
