/**
 * What the daemon said, out of dockerode's errors: its status code and its
 * own words (`json.message`), which become the operator-facing error_message.
 */
import { ContainerNameTaken, isDockerDeadline } from '../../domain/errors.js';

interface DockerodeError extends Error {
  statusCode?: number;
  json?: { message?: string } | null;
}

export function statusOf(error: unknown): number | undefined {
  return (error as DockerodeError | null)?.statusCode;
}

export function messageOf(error: unknown): string {
  const e = error as DockerodeError | null;
  if (e?.json?.message) return e.json.message;
  const message = e?.message ?? String(error);
  // A streamed request (a pull) has no parsed body: dockerode then puts the daemon's words inside its wrapper.
  return /^\(HTTP code \d+\) .*? - ([\s\S]*?) ?$/.exec(message)?.[1] ?? message;
}

/** The daemon's words, not dockerode's "(HTTP code 404) no such image - …" wrapper. */
export function daemonError(error: unknown): Error {
  if (isDockerDeadline(error)) return error as Error;
  const message = messageOf(error).trim();
  const wrapped = new Error(message);
  const status = statusOf(error);
  if (status !== undefined) (wrapped as DockerodeError).statusCode = status;
  return wrapped;
}

/** A create's failure: a name already taken (409, for a container or a service) is known by its code; anything else is the daemon's words. */
export function createError(name: string, error: unknown): Error {
  return statusOf(error) === 409 ? new ContainerNameTaken(name, messageOf(error)) : daemonError(error);
}

/** Docker's zero time (`0001-01-01T00:00:00Z`) means "never". */
export function parseDockerTime(value: string | undefined): Date | null {
  if (!value || value.startsWith('0001-01-01')) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** The daemon's answer to a create whose image is not local (404, "No such image: …"). */
export function isMissingImage(error: unknown): boolean {
  return statusOf(error) === 404 && /no such image/i.test(messageOf(error));
}
