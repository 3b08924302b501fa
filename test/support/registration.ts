// Runs a gateway registration container's shell command on this host against
// one harness agent: `consul` on PATH, /bootstrap in a temp dir. Needs only
// the consul binary (the command ends in -bootstrap, so no Envoy).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConsulAgent } from './consul-cluster';

export interface Registration {
  readonly status: number | null;
  readonly stderr: string;
  /** The Envoy bootstrap the command wrote, when it succeeded. */
  readonly bootstrap?: any;
}

export function runRegistration(consulBin: string, agent: ConsulAgent, command: string, token: string): Registration {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-'));
  try {
    fs.symlinkSync(consulBin, path.join(dir, 'consul'));
    const run = spawnSync('/bin/sh', ['-c', command.replace(/\/bootstrap\//g, `${dir}/`)], {
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        PATH: `${dir}:${process.env.PATH}`,
        CONSUL_HTTP_ADDR: `http://${agent.httpAddr}`,
        CONSUL_GRPC_ADDR: `http://${agent.grpcAddr}`,
        CONSUL_HTTP_TOKEN: token,
      },
    });
    const file = path.join(dir, 'envoy.json');
    return {
      status: run.status,
      stderr: run.stderr,
      bootstrap: run.status === 0 && fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
