/**
 * Where the daemon is, from RTMANAGER_DOCKER_HOST (`unix:///path` or
 * `tcp://host:port`), as Node's http options take it. No dockerode here: the
 * web role pings through this without loading it.
 */
export type DockerTarget = { socketPath: string } | { host: string; port: number };

export function dockerTarget(host: string): DockerTarget {
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return { host: url.hostname, port: Number(url.port || 2375) };
}
