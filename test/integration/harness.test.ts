// Proves the harness itself: two real federated, ACL-enabled Consul servers.
import * as fs from 'fs';
import { ConsulCluster } from '../support/consul-cluster';
import { isAlive } from '../support/docker-engine';
import { eventually } from '../support/eventually';
import { requireTool } from '../support/tools';


describe('ConsulCluster harness', () => {
  let cluster: ConsulCluster | undefined;

  afterAll(async () => {
    await cluster?.stop();
  });

  test('dc1 + dc2 federate over WAN with replicated, default-deny ACLs', async () => {
    const started = Date.now();
    cluster = await ConsulCluster.start({ consulBin: requireTool('consul') });
    await cluster.waitForLeaders(60_000);
    console.info(`consul cluster: start to leaders + ACL replication in ${Date.now() - started} ms`);

    for (const dc of ['dc1', 'dc2'] as const) {
      const leader = await cluster.api(dc, 'GET', '/v1/status/leader');
      expect(leader.json).toMatch(/^127\.0\.0\.1:\d+$/);
    }

    const members = cluster.consulCli('dc1', ['members', '-wan'], { token: cluster.managementToken });
    expect(members.status).toBe(0);
    const servers = members.stdout.trim().split('\n').slice(1).map(line => line.split(/\s+/));
    // Columns: Node Address Status Type Build Protocol DC Partition Segment
    expect(servers.map(([node, , status, type, , , dc]) => ({ node, status, type, dc })).sort((a, b) => a.dc.localeCompare(b.dc)))
      .toEqual([
        { node: 'server-dc1.dc1', status: 'alive', type: 'server', dc: 'dc1' },
        { node: 'server-dc2.dc2', status: 'alive', type: 'server', dc: 'dc2' },
      ]);

    expect((await cluster.api('dc1', 'GET', '/v1/kv/x')).status).toBe(403);
    expect((await cluster.api('dc1', 'GET', '/v1/acl/tokens')).status).toBe(403);

    const entry = { Kind: 'proxy-defaults', Name: 'global', MeshGateway: { Mode: 'local' } };
    const put = await cluster.api('dc2', 'PUT', '/v1/config', entry, cluster.managementToken);
    expect(put.status).toBe(200);
    expect(put.json).toBe(true);
    // Config entry writes are forwarded to the primary, then replicated back.
    const fromDc1 = await cluster.api('dc1', 'GET', '/v1/config/proxy-defaults/global', undefined, cluster.managementToken);
    expect(fromDc1.json?.MeshGateway).toEqual({ Mode: 'local' });
    const fromDc2 = await eventually('proxy-defaults replicated to dc2',
      () => cluster!.api('dc2', 'GET', '/v1/config/proxy-defaults/global', undefined, cluster!.managementToken),
      r => r.status === 200, 20_000, 500);
    expect(fromDc2.status).toBe(200);
    expect(fromDc2.json?.MeshGateway).toEqual({ Mode: 'local' });

    const pids = [cluster.dc1.pid, cluster.dc2.pid];
    const dirs = [cluster.dc1.dataDir, cluster.dc2.dataDir];
    await cluster.stop();
    expect(pids.filter(isAlive)).toEqual([]);
    expect(dirs.filter(d => fs.existsSync(d))).toEqual([]);
  });
});
