// npm run explain: synthesizes every example and prints, per stack, which mesh
// gateway mode each upstream gets and which layer decided it.
//
// npm run explain -- --live [--dc dc1=127.0.0.1:8500 ...]: the same rows for
// examples/federated-pair (what `npm run up` runs), beside what the running
// datacenters serve: the agent's merged upstream mode and the mode of the
// discovery chain's target. Exits 1 on any difference. The token comes from
// CONSUL_HTTP_TOKEN, else TF_VAR_fed_management_token, else what `npm run up`
// kept; it is never printed.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'cdktf';
import { FederatedPair } from '../examples/federated-pair/main';
import { DockerDatacenter, LiveDatacenter, LiveModeCheck } from '../lib';
import { synthExamples } from '../test/support/synth-examples';
import { cacheDir } from '../test/support/tools';

function tables(): void {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'explain-'));
  try {
    for (const stack of synthExamples(outdir)) {
      const table = path.join(stack.dir, 'mesh-gateway-modes.txt');
      console.log(`## examples/${stack.example} (stack ${stack.stack})\n`);
      console.log(fs.existsSync(table) ? fs.readFileSync(table, 'utf8') : '(no mesh services)\n');
    }
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

function token(): string {
  const fromEnv = process.env.CONSUL_HTTP_TOKEN ?? process.env.TF_VAR_fed_management_token;
  if (fromEnv) return fromEnv;
  const kept = path.join(cacheDir(), 'main-job', 'vars.json');
  if (fs.existsSync(kept)) return JSON.parse(fs.readFileSync(kept, 'utf8')).fed_management_token;
  throw new Error('no token: set CONSUL_HTTP_TOKEN (or run npm run up first)');
}

async function live(args: string[]): Promise<number> {
  // Never synthesized (only read), but an App wants an outdir: one of its own, removed on the way out.
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'explain-live-'));
  process.once('exit', () => fs.rmSync(outdir, { recursive: true, force: true }));
  const stack = new FederatedPair(new App({ outdir }), 'federated-pair');
  const given = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    if (args[i] !== '--dc') continue;
    const [name, address] = (args[++i] ?? '').split('=');
    if (!name || !address) throw new Error(`--dc wants name=host:port (got: ${JSON.stringify(args[i])})`);
    given.set(name, address);
  }
  const secret = token();
  const datacenters: LiveDatacenter[] = stack.federation.datacenters.map((dc: DockerDatacenter) => ({
    name: dc.name, address: given.get(dc.name) ?? `127.0.0.1:${dc.httpPort}`, token: secret,
  }));
  console.log(`## examples/federated-pair, live (${datacenters.map((d) => `${d.name} at ${d.address}`).join(', ')})\n`);
  const rows = await LiveModeCheck.run(stack, { datacenters });
  console.log(LiveModeCheck.renderTable(rows));
  const count = (status: string) => rows.filter((r) => r.status === status).length;
  console.log(`${count('match')} match, ${count('differs')} differ, ${count('unchecked')} unchecked`);
  if (count('match') + count('differs') === 0) {
    console.log('Nothing could be checked: register the services\' definitions (a MeshGatewayModeReport writes them under cdktf.out/stacks/<stack>/services/) with the agents.');
  }
  return count('differs') > 0 ? 1 : 0;
}

const args = process.argv.slice(2);
if (args.includes('--live')) {
  live(args).then((code) => process.exit(code), (e) => { console.error(String(e.message ?? e)); process.exit(2); });
} else {
  tables();
}
