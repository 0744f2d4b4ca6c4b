/**
 * Where the daemon is, from RTMANAGER_DOCKER_HOST (`unix:///path` or
 * `tcp://host:port`), and how to speak to it: as Node's http(s) options take
 * it. No dockerode here: the web role pings through this without loading it.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';

/** The TLS material of a tcp:// daemon, read once at boot. */
export interface DockerTls {
  /** Check the daemon's certificate against `ca` (DOCKER_TLS_VERIFY); DOCKER_TLS alone does not. */
  verify: boolean;
  ca?: Buffer;
  /** Presented to the daemon when both are there. */
  cert?: Buffer;
  key?: Buffer;
}

export type DockerTarget = { socketPath: string } | { host: string; port: number; tls?: DockerTls };

/** The Docker CLI's default ports: 2376 speaks TLS, 2375 plain HTTP. */
export function dockerTarget(host: string, tls: DockerTls | null = null): DockerTarget {
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  // Configuration refuses anything else; read anything else as TCP and a named pipe would become a host name.
  if (!host.startsWith('tcp://')) throw new Error(`unsupported Docker host ${JSON.stringify(host)}: use unix:///path or tcp://host:port`);
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return { host: url.hostname, port: Number(url.port || (tls ? 2376 : 2375)), ...(tls ? { tls } : {}) };
}

/**
 * `ca.pem`, `cert.pem` and `key.pem` from the certificate directory, as the
 * Docker CLI reads them: the CA is required when verifying, the client pair
 * is presented when both files exist. Thrown at boot, naming the file, so a
 * missing certificate is not discovered at the first start.
 */
export function readDockerTls(settings: { verify: boolean; certPath: string } | null): DockerTls | null {
  if (!settings) return null;
  const read = (name: string): Buffer | undefined => {
    const file = path.join(settings.certPath, name);
    try {
      return readFileSync(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`Docker TLS: cannot read ${file}: ${(error as Error).message}`, { cause: error });
    }
  };
  const ca = settings.verify ? read('ca.pem') : undefined;
  if (settings.verify && !ca)
    throw new Error(`Docker TLS: DOCKER_TLS_VERIFY is set but ${path.join(settings.certPath, 'ca.pem')} does not exist (DOCKER_CERT_PATH)`);
  const cert = read('cert.pem');
  const key = read('key.pem');
  if (Boolean(cert) !== Boolean(key)) throw new Error(`Docker TLS: ${settings.certPath} holds only one of cert.pem and key.pem`);
  return { verify: settings.verify, ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}) };
}

/**
 * The agent every TLS request to the daemon goes through: its options win
 * over a request's, so dockerode (which cannot be told not to verify) and
 * the bare ping share one behaviour. Kept alive, as Node's global agent is.
 */
export function dockerTlsAgent(tls: DockerTls, opts: { keepAlive: boolean } = { keepAlive: true }): https.Agent {
  return new https.Agent({ keepAlive: opts.keepAlive, ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: tls.verify });
}
