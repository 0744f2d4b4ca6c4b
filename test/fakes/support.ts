import { gameIdProblem } from '../../src/domain/game-id.js';
import type { Clock, CrashRestarts, Logger, StateDirectories, Telemetry } from '../../src/domain/ports.js';

/** A clock tests move by hand; each read advances 1 ms so durations are non-zero. */
export class ManualClock implements Clock {
  constructor(private ms = Date.UTC(2026, 10, 25, 12, 0, 0)) {}
  now(): Date {
    return new Date(this.ms++);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  message: string;
}

export class RecordingLogger implements Logger {
  constructor(
    readonly lines: LogLine[] = [],
    private readonly bound: Record<string, unknown> = {},
  ) {}
  debug(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'debug', fields: { ...this.bound, ...fields }, message });
  }
  info(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'info', fields: { ...this.bound, ...fields }, message });
  }
  warn(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'warn', fields: { ...this.bound, ...fields }, message });
  }
  error(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'error', fields: { ...this.bound, ...fields }, message });
  }
  child(fields: Record<string, unknown>): Logger {
    return new RecordingLogger(this.lines, { ...this.bound, ...fields });
  }
}

export class RecordingTelemetry implements Telemetry {
  readonly startOutcomes: Array<{ outcome: string; errorCode: string; opSource: string }> = [];
  readonly leaseLatencies: number[] = [];
  readonly dockerOps: Array<{ op: string; seconds: number }> = [];
  readonly healthEvents: string[] = [];
  readonly notificationIntents: string[] = [];
  streamDuplicates = 0;
  recordStartOutcome(outcome: string, errorCode: string, opSource: string): void {
    this.startOutcomes.push({ outcome, errorCode, opSource });
  }
  recordLeaseAcquireLatency(seconds: number): void {
    this.leaseLatencies.push(seconds);
  }
  recordDockerOp(op: string, seconds: number): void {
    this.dockerOps.push({ op, seconds });
  }
  recordHealthEvent(eventType: string): void {
    this.healthEvents.push(eventType);
  }
  recordNotificationIntent(notificationType: string): void {
    this.notificationIntents.push(notificationType);
  }
  recordStreamDuplicate(): void {
    this.streamDuplicates += 1;
  }
}

/** State directories in memory: `{root}/{gameId}` paths, no disk. */
export class FakeStateDirectories implements StateDirectories {
  readonly prepared: string[] = [];
  /** Game ids whose path holds something that is no real directory. */
  readonly planted = new Map<string, 'symlink' | 'file'>();
  fail: Error | null = null;
  constructor(private readonly root = '/srv/game-state') {}
  prepare(gameId: string): Promise<string> {
    if (this.fail) return Promise.reject(this.fail);
    const problem = gameIdProblem(gameId);
    if (problem) return Promise.reject(new Error(`refused state directory for ${JSON.stringify(gameId)}: ${problem}`));
    const path = `${this.root}/${gameId}`;
    const planted = this.planted.get(gameId);
    if (planted) {
      const what = planted === 'symlink' ? 'a symbolic link' : 'not a directory';
      return Promise.reject(new Error(`refused state directory for ${JSON.stringify(gameId)}: ${path} exists and is ${what}; it must be a real directory`));
    }
    this.prepared.push(path);
    return Promise.resolve(path);
  }
}

/** Deps whose crash policy is off (RTMANAGER_CRASH_RESTART_MAX=0, the default) never schedule; should one, it is told. */
export const CRASH_POLICY_OFF: CrashRestarts = { schedule: () => Promise.reject(new Error('the crash policy is off in these deps')) };
