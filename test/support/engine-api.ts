// Consul's API as a Docker host of the suite's own reaches it: requests run
// inside the engine's network namespace (in-process fetch cannot), over
// HTTPS verified against a CA file of the test's choosing.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { DockerEngine } from './docker-engine';
import { requireTool } from './tools';

export interface CertificateAuthorityFiles {
  readonly cert: string;
  readonly key: string;
  readonly caFile: string;
}

/** `consul tls ca create` in a directory of its own. */
export function createCa(dir: string, consulBin: string = requireTool('consul')): CertificateAuthorityFiles {
  fs.mkdirSync(dir, { recursive: true });
  const r = spawnSync(consulBin, ['tls', 'ca', 'create'], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`consul tls ca create: ${r.stderr}`);
  const caFile = path.join(dir, 'consul-agent-ca.pem');
  return { cert: fs.readFileSync(caFile, 'utf8'), key: fs.readFileSync(path.join(dir, 'consul-agent-ca-key.pem'), 'utf8'), caFile };
}

export interface EngineApiRequest {
  readonly caFile: string;
  readonly token: string;
  /** @default "https" */
  readonly scheme?: string;
  /** @default "127.0.0.1" */
  readonly host?: string;
  /** @default 8500 */
  readonly port?: number;
  /** The name the server's certificate is checked against (and SNI). @default - the host */
  readonly servername?: string;
  /** @default "GET" */
  readonly method?: string;
  readonly body?: string;
}

export interface EngineApiResponse {
  readonly status: number;
  readonly body: string;
  /** Set when no response came (status 0). */
  readonly error?: string;
}

const CLIENT = `
const mod = require(process.argv[1] === 'http' ? 'http' : 'https');
const req = mod.request({ host: process.argv[2], port: Number(process.env.PORT), path: process.argv[3], method: process.env.METHOD, headers: { 'X-Consul-Token': process.env.TOKEN },
  ca: process.argv[4] ? require('fs').readFileSync(process.argv[4]) : undefined, servername: process.env.SERVERNAME || undefined, timeout: 10000 }, (res) => {
  let body = ''; res.on('data', (d) => body += d); res.on('end', () => console.log(JSON.stringify({ status: res.statusCode, body })));
});
req.on('error', (e) => console.log(JSON.stringify({ status: 0, body: '', error: e.message })));
req.end(process.env.BODY);`;

/** One request to `urlPath` from inside `engine`'s network namespace (its own host). */
export function engineApi(engine: DockerEngine, urlPath: string, request: EngineApiRequest): EngineApiResponse {
  const argv = engine.inEngineNetwork([process.execPath, '-e', CLIENT, request.scheme ?? 'https', request.host ?? '127.0.0.1', urlPath, request.caFile]);
  const r = spawnSync(argv[0], argv.slice(1), {
    encoding: 'utf8',
    env: { ...process.env, TOKEN: request.token, METHOD: request.method ?? 'GET', BODY: request.body ?? '', PORT: String(request.port ?? 8500), SERVERNAME: request.servername ?? '' },
  });
  if (r.status !== 0) throw new Error(`${request.method ?? 'GET'} ${urlPath}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
