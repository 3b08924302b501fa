// A test-only "WAN" between two engines of the suite's own: a veth pair with
// one end in each engine's network namespace, addressed from 192.0.2.0/24
// (TEST-NET-1, reserved for documentation). Neither namespace has a route
// anywhere else, so nothing sent over it can leave the machine. The pair
// disappears with the namespaces when the engines stop.
import { spawnSync } from 'child_process';
import { clearEngine } from './docker-deployment';
import { DockerEngine, ensureConsulImage, startDockerEngine } from './docker-engine';
import { TerraformWorkspace } from './terraform';

export interface WanLink {
  /** The address of each engine's end, in the order given. */
  readonly addresses: [string, string];
}

function must(argv: string[]): void {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr.trim()}`);
}

/** Joins `a` and `b` by a veth pair: a gets 192.0.2.1, b 192.0.2.2. */
export function linkEngines(a: DockerEngine, b: DockerEngine): WanLink {
  if (!a.netns || !b.netns) throw new Error('both engines must be ones this suite started (they need network namespaces of their own)');
  // Interface names are global until moved, and at most 15 bytes.
  const tag = (process.pid % 1_000_000).toString(36);
  const ends = [{ engine: a, ifname: `cmw${tag}a`, address: '192.0.2.1' }, { engine: b, ifname: `cmw${tag}b`, address: '192.0.2.2' }];
  must(['ip', 'link', 'add', ends[0].ifname, 'type', 'veth', 'peer', 'name', ends[1].ifname]);
  for (const end of ends) {
    const pid = /\/proc\/(\d+)\//.exec(end.engine.netns!)![1];
    must(['ip', 'link', 'set', end.ifname, 'netns', pid]);
    must(end.engine.inEngineNetwork(['ip', 'addr', 'add', `${end.address}/24`, 'dev', end.ifname]));
    must(end.engine.inEngineNetwork(['ip', 'link', 'set', end.ifname, 'up']));
  }
  return { addresses: [ends[0].address, ends[1].address] };
}

/**
 * Two engines of the suite's own (data roots `<name>-a`, `<name>-b`: a suite
 * a name, so suites run side by side), linked, emptied, with the Consul image
 * built in each.
 */
export async function startLinkedEngines(name: string): Promise<{ engines: { dc1: DockerEngine; dc2: DockerEngine }; addresses: [string, string]; image: string }> {
  const dc1 = await startDockerEngine({ name: `${name}-a` });
  const dc2 = await startDockerEngine({ name: `${name}-b` }).catch(async (e) => {
    await dc1.stop();
    throw e;
  });
  const { addresses } = linkEngines(dc1, dc2);
  for (const engine of [dc1, dc2]) await clearEngine(engine);
  const [image] = await Promise.all([ensureConsulImage(dc1), ensureConsulImage(dc2)]);
  return { engines: { dc1, dc2 }, addresses, image };
}

/** Destroys what each workspace still holds, in the order given (dependents first), removes them, then stops the engines. */
export async function tearDownLinked(workspaces: (TerraformWorkspace | undefined)[], engines: DockerEngine[]): Promise<void> {
  for (const w of workspaces) {
    if (w && (await w.stateList()).length > 0) await w.destroy().catch((e) => console.error(e));
    w?.remove();
  }
  for (const engine of engines) await engine.stop();
}
