import * as http from 'http';
import * as https from 'https';
import { IConstruct } from 'constructs';
import { MeshGatewayModeExplanation } from './mesh-gateway-mode-explanation';
import { explainByService } from './mode-resolution';
import { alignedTable, downstreamText, targetText } from './mode-text';

/** How to reach one datacenter of a running cluster. */
export interface LiveDatacenter {
  /** The datacenter's name. */
  readonly name: string;

  /**
   * `host:port` of an agent's HTTP API in it: the one the services' sidecars
   * are registered with (their merged upstream modes live on that agent).
   */
  readonly address: string;

  /** A token that may read services, config entries and the discovery chain. */
  readonly token: string;

  /**
   * Talk HTTPS to the agent (the system's trust store verifies it).
   * @default false
   */
  readonly https?: boolean;
}

/** Props of `LiveModeCheck.run`. */
export interface LiveModeCheckOptions {
  /** The datacenters to read; rows of other datacenters are reported as unchecked. */
  readonly datacenters: LiveDatacenter[];
}

/** One predicted row beside what the running cluster does. */
export interface LiveModeComparison {
  /** What `MeshGatewayModes.explain` predicted at synth. */
  readonly predicted: MeshGatewayModeExplanation;

  /** `match`, `differs`, or `unchecked` (the proxy is not registered where it was looked for). */
  readonly status: string;

  /** The merged upstream mode the agent reports for the sidecar (`""` for an ingress gateway or when unchecked). */
  readonly agentMode: string;

  /** The mode Consul's discovery chain gives this target (`""` when unchecked). */
  readonly mode: string;

  /** What differs, or why the row is unchecked (empty when it matches). */
  readonly detail: string;
}

interface Reply {
  readonly status: number;
  readonly json: any;
}

/**
 * Compares, for a running cluster, each upstream target's mode predicted at
 * synth with what Consul serves: the merged upstream mode the agent holds
 * for the sidecar (`/v1/agent/service/<sidecar>`) and the mode of the
 * discovery chain's target compiled as that proxy asks for it (a sidecar
 * with its merged mode as override, an ingress gateway with none), which is
 * what Consul turns into Envoy's clusters and endpoints. It only reads, and
 * only from the addresses given.
 */
export class LiveModeCheck {
  /** Every row of `MeshGatewayModes.explain` under `scope`, checked against the running cluster. */
  public static async run(scope: IConstruct, options: LiveModeCheckOptions): Promise<LiveModeComparison[]> {
    const datacenters = new Map(options.datacenters.map((dc) => [dc.name, dc]));
    const agentModes = new Map<string, Promise<string | undefined>>();
    const chains = new Map<string, Promise<Map<string, string>>>();
    const results: LiveModeComparison[] = [];
    for (const [downstream, rows] of explainByService(scope)) for (const row of rows) {
      const dc = datacenters.get(row.datacenter);
      const unchecked = (detail: string): LiveModeComparison => ({ predicted: row, status: 'unchecked', agentMode: '', mode: '', detail });
      if (!dc) {
        results.push(unchecked(`no address given for datacenter "${row.datacenter}"`));
        continue;
      }
      if (row.target.startsWith('peer:')) {
        results.push(unchecked('a peer\'s chain is compiled in its own cluster'));
        continue;
      }
      let agentMode = '';
      if ('sidecarId' in downstream) {
        const key = `${row.datacenter}\u0000${downstream.sidecarId}\u0000${row.upstream}`;
        if (!agentModes.has(key)) agentModes.set(key, readAgentMode(dc, downstream.sidecarId, row.upstream));
        const live = await agentModes.get(key)!;
        if (live === undefined) {
          results.push(unchecked(`${downstream.sidecarId} (upstream "${row.upstream}") is not registered with the agent at ${dc.address}`));
          continue;
        }
        agentMode = live;
      }
      const chainKey = `${row.datacenter}\u0000${row.upstream}\u0000${row.chainDatacenter}\u0000${agentMode}`;
      if (!chains.has(chainKey)) chains.set(chainKey, readChain(dc, row.upstream, row.chainDatacenter, agentMode));
      const targets = await chains.get(chainKey)!;
      const mode = targets.get(`${row.targetService}@${row.target}`);
      const problems: string[] = [];
      if (agentMode !== row.agentMode) problems.push(`agent mode "${agentMode}", predicted "${row.agentMode}"`);
      if (mode === undefined) problems.push(`the chain has no target ${row.targetService} in ${row.target} (it has: ${[...targets.keys()].join(', ') || 'none'})`);
      else if (mode !== row.mode) problems.push(`chain mode "${mode}", predicted "${row.mode}"`);
      results.push({ predicted: row, status: problems.length === 0 ? 'match' : 'differs', agentMode, mode: mode ?? '', detail: problems.join('; ') });
    }
    return results;
  }

  /** The comparisons as an aligned text table, with the gateway each mode uses. */
  public static renderTable(comparisons: LiveModeComparison[]): string {
    const header = ['service', 'dc', 'upstream', 'target', 'predicted', 'consul', 'gateway', 'status'];
    return alignedTable(header, comparisons.map((c) => {
      const r = c.predicted;
      return [downstreamText(r), r.datacenter, r.upstream, targetText(r) + (r.via ? ` (${r.via})` : ''),
        r.mode, c.mode || '-', gatewayOf(r), c.status + (c.detail ? `: ${c.detail}` : '')];
    }));
  }

  private constructor() {}
}

/** Which gateway the predicted mode sends the target's traffic through. */
function gatewayOf(r: MeshGatewayModeExplanation): string {
  if (!r.crossesDatacenter) return '- (same datacenter)';
  if (r.mode === 'local') return `${r.datacenter}'s, then ${r.target}'s`;
  if (r.mode === 'remote') return `${r.target}'s`;
  return '- (direct)';
}

async function readAgentMode(dc: LiveDatacenter, sidecarId: string, upstream: string): Promise<string | undefined> {
  const reply = await request(dc, 'GET', `/v1/agent/service/${encodeURIComponent(sidecarId)}`);
  if (reply.status === 404) return undefined;
  if (reply.status !== 200) throw new Error(`${dc.name} (${dc.address}): GET /v1/agent/service/${sidecarId} answered ${reply.status}`);
  const found = (reply.json?.Proxy?.Upstreams ?? []).find((u: any) => u.DestinationName === upstream);
  return found === undefined ? undefined : found.MeshGateway?.Mode ?? '';
}

async function readChain(dc: LiveDatacenter, service: string, compileDc: string, override: string): Promise<Map<string, string>> {
  const reply = await request(dc, 'POST', `/v1/discovery-chain/${encodeURIComponent(service)}?compile-dc=${encodeURIComponent(compileDc)}`,
    override ? { OverrideMeshGateway: { Mode: override } } : {});
  if (reply.status !== 200) throw new Error(`${dc.name} (${dc.address}): the discovery chain of "${service}" answered ${reply.status}`);
  return new Map(Object.values<any>(reply.json?.Chain?.Targets ?? {}).map((t) => [`${t.Service}@${t.Datacenter}`, t.MeshGateway?.Mode || 'none']));
}

function request(dc: LiveDatacenter, method: string, path: string, body?: unknown): Promise<Reply> {
  const client = dc.https ? https : http;
  const [host, port] = splitHostPort(dc.address);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = client.request({ host, port, method, path, headers: { 'X-Consul-Token': dc.token, ...(payload ? { 'Content-Type': 'application/json' } : {}) }, timeout: 15_000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => { text += chunk; });
        res.on('end', () => {
          let json: unknown;
          try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
          resolve({ status: res.statusCode ?? 0, json });
        });
      });
    req.on('timeout', () => req.destroy(new Error(`${dc.name} (${dc.address}): no answer within 15 s`)));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

function splitHostPort(address: string): [string, number] {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  if (!m) throw new Error(`address must be host:port (got: ${JSON.stringify(address)})`);
  return [m[1], Number(m[2])];
}
