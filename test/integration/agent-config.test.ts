// Real Consul reads every agent configuration the library renders:
// `consul validate` runs the agent's own config loader and semantic checks.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdktf';
import { FederatedPair } from '../../examples/federated-pair/main';
import { FederationMethod } from '../../lib';
import { synthApp } from '../support/synth';
import { requireTool } from '../support/tools';

const consul = requireTool('consul');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-config-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function run(args: string[], cwd = work): string {
  const result = spawnSync(consul, args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`consul ${args.join(' ')} failed: ${result.stdout}${result.stderr}`);
  return result.stdout;
}

/** Real TLS material where the config expects it, so `consul validate` can load it. */
function tlsDir(datacenter: string, node: string): string {
  const dir = fs.mkdtempSync(path.join(work, `tls-${node}-`));
  if (!fs.existsSync(path.join(work, 'consul-agent-ca.pem'))) run(['tls', 'ca', 'create']);
  run(['tls', 'cert', 'create', '-server', '-dc', datacenter, '-node', node,
    '-ca', path.join(work, 'consul-agent-ca.pem'), '-key', path.join(work, 'consul-agent-ca-key.pem')], dir);
  fs.copyFileSync(path.join(work, 'consul-agent-ca.pem'), path.join(dir, 'ca.pem'));
  fs.renameSync(path.join(dir, `${datacenter}-server-consul-0.pem`), path.join(dir, 'server.pem'));
  fs.renameSync(path.join(dir, `${datacenter}-server-consul-0-key.pem`), path.join(dir, 'server-key.pem'));
  return dir;
}

/** The servers' configs, from whichever stack holds them (WAN gossip: the servers' own stack). */
function renderedConfigs(method: FederationMethod): { path: string; files: { file: string; content: string }[] }[] {
  const app = Testing.app();
  new FederatedPair(app, 'pair', { method });
  return Object.values(synthApp(app)).flatMap((json) => Object.entries<any>(json.resource.docker_container)
    .filter(([, c]) => c.upload)
    .map(([id, c]) => ({ path: id, files: c.upload })));
}

const gossipKey = run(['keygen']).trim();

describe.each([
  ['WAN gossip', FederationMethod.wanGossip(), 2],
  ['mesh gateways', FederationMethod.meshGateways(), 2],
])('agent configuration for federation over %s', (_name, method, servers) => {
  const configs = renderedConfigs(method);

  test('renders one config per server', () => {
    expect(configs).toHaveLength(servers);
  });

  // Both files of the config dir (server.json and live.json), which the agent merges.
  test.each(configs.map((c) => [c.path, c.files]))('%s passes `consul validate`', (id, files) => {
    expect(files.map((f) => path.basename(f.file))).toEqual(['server.json', 'live.json']);
    const dir = fs.mkdtempSync(path.join(work, 'agent-'));
    const configDir = path.join(dir, 'config');
    fs.mkdirSync(configDir);
    for (const { file, content } of files) {
      const parsed = JSON.parse(content.replace(/\$\{var\.fed_gossip_key\}/g, gossipKey)
        .replace(/\$\{(var|data)\.[^}]+\}/g, '3f2b5c1e-8d4a-4e6f-9a7b-0c1d2e3f4a5b'));
      if (parsed.data_dir) parsed.data_dir = path.join(dir, 'data');
      if (parsed.tls) {
        const tls = tlsDir(parsed.datacenter, parsed.node_name);
        for (const key of ['ca_file', 'cert_file', 'key_file']) parsed.tls.defaults[key] = path.join(tls, path.basename(parsed.tls.defaults[key]));
      }
      fs.writeFileSync(path.join(configDir, path.basename(file)), JSON.stringify(parsed));
    }
    const result = spawnSync(consul, ['validate', configDir], { encoding: 'utf8' });
    expect({ id, status: result.status, output: result.stdout + result.stderr })
      .toEqual({ id, status: 0, output: expect.stringContaining('Configuration is valid!') });
  });
});
