/**
 * Where the daemon is, from RTMANAGER_DOCKER_HOST (`unix:///path` or
 * `tcp://host:port`), as Node's http options take it. No dockerode here: the
 * web role pings through this without loading it.
 */
export type DockerTarget = { socketPath: string } | { host: string; port: number };

export function dockerTarget(host: string): DockerTarget {
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  // Configuration refuses anything else; read anything else as TCP and a named pipe would become a host name.
  if (!host.startsWith('tcp://')) throw new Error(`unsupported Docker host ${JSON.stringify(host)}: use unix:///path or tcp://host:port`);
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return { host: url.hostname, port: Number(url.port || 2375) };
}
