// Two real Consul server agents on loopback: dc1 (primary) and dc2 (secondary,
// WAN-joined to dc1, replicating ACLs), and on request dc3, a third server that
// is a cluster of its own, to peer with. Used by the integration tests to check
// that the constructs' output is accepted by real servers.
import { ChildProcess, spawn, spawnSync } from 'child_process';
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { ApiResult, consulHttp } from './consul-http';

export type { ApiResult };

export type Datacenter = 'dc1' | 'dc2' | 'dc3';

export interface ConsulAgent {
  readonly name: Datacenter;
  /** host:port of the plain HTTP API. */
  readonly httpAddr: string;
  /** host:port of the plaintext gRPC (xDS) listener. */
  readonly grpcAddr: string;
  readonly ports: Readonly<Record<PortName, number>>;
  /** Temp dir holding the agent's data, agent.json and agent.log. */
  readonly dataDir: string;
  readonly logFile: string;
  readonly pid: number;
}

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ConsulClusterOptions {
  readonly consulBin: string;
  /** How long each agent may take to serve HTTP. Default 30 s. */
  readonly startTimeoutMs?: number;
  /**
   * Also start dc3: an independent cluster (its own primary, no WAN join),
   * since dc1 and dc2 are one cluster and cannot peer. Default false.
   */
  readonly peerCluster?: boolean;
  /**
   * The datacenter name dc3 runs under, e.g. `dc1`, as two independently
   * installed clusters both are. The harness still calls it dc3. Default dc3.
   */
  readonly peerClusterDatacenter?: string;
  /**
   * Start dc2, WAN-joined to dc1 and replicating from it. Off for suites that
   * need one server only (a secondary replicating every entry would weigh on
   * what they measure). Default true.
   */
  readonly secondary?: boolean;
}

const PORT_NAMES = ['http', 'grpc', 'grpc_tls', 'dns', 'serf_lan', 'serf_wan', 'server'] as const;
type PortName = typeof PORT_NAMES[number];

interface Running extends ConsulAgent {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
}

// Agents of every cluster in this process, so a crashing test run (uncaught
// error, process.exit) still takes its agents and temp dirs down. 'exit'
// handlers must be synchronous, hence SIGKILL rather than a graceful stop.
const liveAgents = new Set<Running>();
let exitHookInstalled = false;
function track(agent: Running): void {
  if (!exitHookInstalled) {
    process.on('exit', () => liveAgents.forEach(a => {
      a.child.kill('SIGKILL');
      fs.rmSync(a.dataDir, { recursive: true, force: true });
    }));
    exitHookInstalled = true;
  }
  liveAgents.add(agent);
}

const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));

/** Distinct free loopback TCP ports: all are held open at once so none repeats. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<net.Server>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  })));
  const ports = servers.map(s => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map(s => new Promise(resolve => s.close(resolve))));
  return ports;
}

function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') || '(empty)';
  } catch (e) {
    return `(no log: ${(e as Error).message})`;
  }
}

export class ConsulCluster {
  static async start(options: ConsulClusterOptions): Promise<ConsulCluster> {
    const cluster = new ConsulCluster(options.consulBin, randomUUID(), options.peerClusterDatacenter ?? 'dc3');
    try {
      const timeout = options.startTimeoutMs ?? 30_000;
      const dc1 = await cluster.launch('dc1');
      // If dc2 elects a leader before dc1 has bootstrapped its ACLs and CA, its
      // first replication and CA-init attempts fail and back off for ~30 s.
      await cluster.waitFor('dc1 to bootstrap ACLs and the Connect CA', timeout, () => cluster.caAndAclReady('dc1'));
      if (options.secondary ?? true) {
        const dc2 = await cluster.launch('dc2', dc1.ports.serf_wan);
        await cluster.waitFor(`dc2 HTTP API on ${dc2.httpAddr}`, timeout, async () =>
          (await cluster.api('dc2', 'GET', '/v1/status/leader')).status === 200);
      }
      if (options.peerCluster) {
        await cluster.launch('dc3');
        await cluster.waitFor('dc3 to bootstrap ACLs and the Connect CA', timeout, () => cluster.caAndAclReady('dc3'));
      }
    } catch (e) {
      const logs = cluster.logTails();
      await cluster.stop();
      throw new Error(`Consul cluster failed to start: ${(e as Error).message}\n${logs}`);
    }
    return cluster;
  }

  /** initial_management token of dc1, replicated to dc2; dc3 bootstraps with the same one. */
  readonly managementToken: string;
  private readonly consulBin: string;
  private readonly agents: Running[] = [];
  private readonly peerClusterDatacenter: string;
  private stopped = false;

  private constructor(consulBin: string, managementToken: string, peerClusterDatacenter: string) {
    this.consulBin = consulBin;
    this.managementToken = managementToken;
    this.peerClusterDatacenter = peerClusterDatacenter;
  }

  get dc1(): ConsulAgent { return this.agent('dc1'); }
  get dc2(): ConsulAgent { return this.agent('dc2'); }
  get dc3(): ConsulAgent { return this.agent('dc3'); }

  /**
   * Waits until every datacenter has a raft leader and an active Connect CA,
   * and dc2 has replicated ACL policies and tokens from dc1 (so the
   * management token, and policies made in dc1, work there too).
   */
  async waitForLeaders(timeoutMs = 60_000): Promise<void> {
    let state = '';
    try {
      await this.waitFor('leaders and ACL replication', timeoutMs, async () => {
        const leaders = await Promise.all(this.agents.map(async a => (await this.api(a.name, 'GET', '/v1/status/leader')).json));
        const hasSecondary = this.agents.some((a) => a.name === 'dc2');
        const replication = hasSecondary ? (await this.api('dc2', 'GET', '/v1/acl/replication')).json : undefined;
        state = `leaders=${JSON.stringify(leaders)} dc2 /v1/acl/replication=${JSON.stringify(replication)}`;
        return leaders.every(l => typeof l === 'string' && l !== '')
          && (!hasSecondary || (replication?.Running === true && replication.ReplicatedIndex > 0 && replication.ReplicatedTokenIndex > 0))
          && (await Promise.all(this.agents.map((a) => this.caAndAclReady(a.name)))).every(Boolean);
      });
    } catch (e) {
      throw new Error(`${(e as Error).message}; last seen: ${state}\n${this.logTails()}`);
    }
  }

  /** One HTTP API call; `json` is undefined when the body is not JSON. */
  api(dc: Datacenter, method: string, urlPath: string, body?: unknown, token?: string): Promise<ApiResult> {
    return consulHttp(this.agent(dc).httpAddr, method, urlPath, body, token);
  }

  /** Runs the consul CLI against one datacenter's HTTP API. */
  consulCli(dc: Datacenter, args: string[], options: { token?: string } = {}): CliResult {
    const env: NodeJS.ProcessEnv = { ...process.env, CONSUL_HTTP_ADDR: this.agent(dc).httpAddr };
    // An ambient token must not leak into "anonymous" calls.
    delete env.CONSUL_HTTP_TOKEN;
    if (options.token) env.CONSUL_HTTP_TOKEN = options.token;
    const run = spawnSync(this.consulBin, args, { env, encoding: 'utf8', timeout: 60_000 });
    if (run.error) throw run.error;
    return { status: run.status, stdout: run.stdout, stderr: run.stderr };
  }

  /** SIGTERMs exactly the agents this cluster started (SIGKILL after 10 s) and removes their dirs. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.agents.map(async a => {
      if (a.child.exitCode === null && a.child.signalCode === null) {
        a.child.kill('SIGTERM');
        const timer = setTimeout(() => a.child.kill('SIGKILL'), 10_000);
        await a.exited;
        clearTimeout(timer);
      }
      fs.rmSync(a.dataDir, { recursive: true, force: true });
      liveAgents.delete(a);
    }));
  }

  /** The management token resolves and the Connect CA has an active root. */
  private async caAndAclReady(dc: Datacenter): Promise<boolean> {
    const [self, roots] = await Promise.all([
      this.api(dc, 'GET', '/v1/acl/token/self', undefined, this.managementToken),
      this.api(dc, 'GET', '/v1/connect/ca/roots', undefined, this.managementToken),
    ]);
    return self.status === 200 && !!roots.json?.ActiveRootID;
  }

  private agent(dc: Datacenter): Running {
    const found = this.agents.find(a => a.name === dc);
    if (!found) throw new Error(`agent ${dc} is not running`);
    return found;
  }

  private async launch(dc: Datacenter, joinWanPort?: number): Promise<Running> {
    const values = await freePorts(PORT_NAMES.length);
    const ports = Object.fromEntries(PORT_NAMES.map((n, i) => [n, values[i]])) as Record<PortName, number>;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `cdktf-consul-mesh-${dc}-`));
    const token = this.managementToken;
    // dc3 is a cluster of its own: its own primary, never WAN-joined.
    const primary = dc !== 'dc2';
    const config = {
      datacenter: dc === 'dc3' ? this.peerClusterDatacenter : dc,
      primary_datacenter: dc === 'dc3' ? this.peerClusterDatacenter : 'dc1',
      node_name: `server-${dc}`,
      data_dir: dataDir,
      bind_addr: '127.0.0.1',
      client_addr: '127.0.0.1',
      ports: { ...ports, https: -1 },
      connect: { enabled: true },
      acl: {
        enabled: true,
        default_policy: 'deny',
        enable_token_persistence: true,
        ...(primary
          ? { tokens: { initial_management: token, agent: token } }
          // The harness reuses the management token for replication; real
          // deployments give dc2 a token with acl = "write" only.
          : { enable_token_replication: true, tokens: { replication: token, agent: token } }),
      },
      // Elect in ~1 s instead of the production-tuned default of 5x slower timers.
      performance: { raft_multiplier: 1 },
      // No calls to checkpoint.hashicorp.com from tests.
      disable_update_check: true,
      log_level: 'INFO',
    };
    const configFile = path.join(dataDir, 'agent.json');
    fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
    const logFile = path.join(dataDir, 'agent.log');
    const log = fs.openSync(logFile, 'a');
    const args = ['agent', '-server', '-bootstrap-expect=1', `-config-file=${configFile}`];
    if (joinWanPort) args.push(`-retry-join-wan=127.0.0.1:${joinWanPort}`);
    const child = spawn(this.consulBin, args, { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    const exited = new Promise<void>(resolve => child.once('exit', () => resolve()));
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
    } catch (e) {
      fs.rmSync(dataDir, { recursive: true, force: true });
      throw e;
    }
    const agent: Running = {
      name: dc,
      httpAddr: `127.0.0.1:${ports.http}`,
      grpcAddr: `127.0.0.1:${ports.grpc}`,
      ports,
      dataDir,
      logFile,
      pid: child.pid!,
      child,
      exited,
    };
    this.agents.push(agent);
    track(agent);
    return agent;
  }

  /** Polls `check` until true; fails early if an agent dies. */
  private async waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError = '';
    for (;;) {
      const dead = this.agents.find(a => a.child.exitCode !== null || a.child.signalCode !== null);
      if (dead) throw new Error(`agent ${dead.name} (pid ${dead.pid}) exited with ${dead.child.exitCode ?? dead.child.signalCode} while waiting for ${what}`);
      try {
        if (await check()) return;
      } catch (e) {
        lastError = ` (last error: ${(e as Error).message})`; // connection refused until the listener is up
      }
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError}`);
      await sleep(250);
    }
  }

  private logTails(): string {
    return this.agents.map(a => `--- ${a.name} ${a.logFile} (tail) ---\n${tail(a.logFile)}`).join('\n');
  }
}
