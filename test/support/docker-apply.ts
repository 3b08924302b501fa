// Stand-in for `terraform apply` and `terraform destroy` of a synthesized
// stack on a real Docker engine. Terraform cannot run the stack here: neither
// provider it pins (kreuzwerker/docker, hashicorp/consul) can be built on these
// machines (README, Limits). So docker_* resources go through the docker CLI,
// asking the engine for what kreuzwerker/docker 3.6.2 asks of it, and consul_*
// resources go through consul-api-apply (the endpoints terraform-provider-consul
// calls), against the Consul servers the containers run. Both kinds are walked
// in one dependency graph because they reference each other: containers take
// tokens read by data sources (env, uploaded config) and tokens wait for
// healthy containers (depends_on). Independent resources run concurrently, as
// under Terraform, so a missing dependency shows up as a race, not a lucky order.
//
// What is real: the engine, the containers, their commands and health checks,
// and what Consul stores and enforces. What is not: Terraform's plan and diff
// (an existing object is kept as it is), state files (state lives in memory,
// per StackDeployment), and these differences from the docker provider, each
// marked where it happens: `attach` requires exit code 0 (the provider only
// records exit_code), `wait` gives up at "unhealthy" (the provider polls until
// wait_timeout), a stopped must_run container is recreated in one apply (the
// provider's refresh removes it and fails that run), and an entrypoint of
// several words is passed as --entrypoint plus leading arguments (same argv).
// Attributes the library does not emit are rejected, not ignored.
import { ConsulCluster, Datacenter } from './consul-cluster';
import { applyConsulResources } from './consul-api-apply';
import { consulHttp } from './consul-http';
import type { DockerEngine } from './docker-engine';

type Json = Record<string, any>;

interface Node {
  /** Terraform address: docker_container.X, data.consul_acl_token_secret_id.Y */
  readonly address: string;
  readonly type: string;
  readonly id: string;
  readonly data: boolean;
  readonly body: Json;
  readonly deps: string[];
}

const EXPRESSION = /\$\{([^}]*)\}/g;
const REFERENCE = /^(data\.)?([a-z_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)$/;
const VARIABLE = /^var\.([A-Za-z0-9_-]+)$/;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Attributes of a docker_container this stand-in knows how to create; anything else is rejected, not ignored. */
const CONTAINER_ATTRIBUTES = new Set(['provider', 'depends_on', 'name', 'image', 'hostname', 'entrypoint', 'command', 'env',
  'upload', 'volumes', 'networks_advanced', 'ports', 'healthcheck', 'wait', 'wait_timeout', 'attach', 'must_run', 'restart']);

/** Consul's HTTP API at a provider's `address`, in the shape consul-api-apply calls. */
const consulAt = {
  api: consulHttp,
};

export class StackDeployment {
  /** Attributes by address, as Terraform would expose them; kept across apply() calls like a state file. */
  public readonly state = new Map<string, Json>();
  private readonly nodes = new Map<string, Node>();
  private readonly consulUndo = new Map<string, () => Promise<void>>();

  constructor(private readonly engine: DockerEngine, private readonly stack: Json, private readonly vars: Record<string, string>) {
    for (const [block, prefix] of [['resource', ''], ['data', 'data.']] as const) {
      for (const [type, byId] of Object.entries<Json>(stack[block] ?? {})) {
        if (!type.startsWith('docker_') && !type.startsWith('consul_')) throw new Error(`${prefix}${type}: not a type this stand-in applies`);
        for (const [id, body] of Object.entries<Json>(byId)) {
          const address = `${prefix}${type}.${id}`;
          if (body.count !== undefined || body.for_each !== undefined) throw new Error(`${address}: count and for_each are not supported by this stand-in`);
          checkLifecycle(address, body);
          const refs = [...JSON.stringify({ ...body, depends_on: undefined }).matchAll(EXPRESSION)]
            .map((m) => REFERENCE.exec(m[1])).filter((m): m is RegExpExecArray => m !== null)
            .map((m) => `${m[1] ?? ''}${m[2]}.${m[3]}`);
          this.nodes.set(address, { address, type, id, data: block === 'data', body, deps: [...new Set([...refs, ...body.depends_on ?? []])] });
        }
      }
    }
    for (const node of this.nodes.values()) {
      for (const dep of node.deps) if (!this.nodes.has(dep)) throw new Error(`${node.address} references ${dep}, which the stack does not define`);
    }
  }

  /**
   * Creates what is missing and keeps what exists, in dependency order. Each
   * object is checked just before its turn, not all up front as Terraform's
   * plan does (see refresh()). A must_run container that is not running is
   * removed and recreated; data sources are read again.
   */
  public async apply(): Promise<void> {
    await this.walk((node) => node.deps, (node) => this.applyNode(node));
  }

  /**
   * What `terraform plan` (and so `apply`) does before changing anything:
   * read every object in state, and every data source whose inputs are known,
   * through its provider. Returns "address: why" for each read that fails,
   * which would fail the whole run; changes nothing.
   */
  public async refresh(): Promise<string[]> {
    const reads = [...this.nodes.values()].map(async (node): Promise<string[]> => {
      if (!node.data && !this.state.has(node.address)) return [];
      let body: Json;
      try {
        body = this.resolve({ ...node.body, depends_on: undefined, lifecycle: undefined });
      } catch {
        return []; // inputs not known yet: Terraform defers the read to apply
      }
      try {
        if (node.data) {
          await this.applyConsul(node, body);
        } else if (node.type.startsWith('consul_')) {
          await this.consulObjectExists(node, body, this.resolve(this.providerOf(body)), this.state.get(node.address)!);
        } else if (node.type === 'docker_container') {
          const container = await this.inspect('container', body.name);
          // The provider's read fails on a must_run container that is not running (and removes it).
          if (container && !container.State.Running && (body.must_run ?? true)) throw new Error('container failed to be in running state');
        }
        return [];
      } catch (e) {
        const cause = (e as { cause?: { code?: string } }).cause?.code;
        return [`${node.address}: ${(e as Error).message}${cause ? ` (${cause})` : ''}`];
      }
    });
    return (await Promise.all(reads)).flat();
  }

  /**
   * Removes everything the stack names, dependents first. Docker objects are
   * found by name, so this also clears what an interrupted run left behind;
   * Consul objects are deleted when this deployment created them (the rest
   * goes with the servers' data volumes). Errors are collected, not fatal, so
   * every Docker object is attempted.
   */
  public async destroy(): Promise<void> {
    const dependents = new Map<string, string[]>();
    for (const node of this.nodes.values()) for (const dep of node.deps) dependents.set(dep, [...dependents.get(dep) ?? [], node.address]);
    const errors: string[] = [];
    await this.walk((node) => dependents.get(node.address) ?? [], async (node) => {
      try {
        await this.destroyNode(node);
      } catch (e) {
        errors.push(`${node.address}: ${(e as Error).message}`);
      }
    });
    this.state.clear();
    if (errors.length > 0) throw new Error(`destroy: ${errors.join('\n')}`);
  }

  /** Containers, networks and volumes of the stack that still exist on the engine, as "kind name". */
  public async leftovers(): Promise<string[]> {
    const list = async (args: string[]) => new Set((await this.engine.mustDocker(args)).split('\n').filter(Boolean));
    const present: Record<string, Set<string>> = {
      docker_container: await list(['ps', '-a', '--format', '{{.Names}}']),
      docker_network: await list(['network', 'ls', '--format', '{{.Name}}']),
      docker_volume: await list(['volume', 'ls', '--format', '{{.Name}}']),
    };
    return [...this.nodes.values()]
      .filter((n) => present[n.type]?.has(n.body.name))
      .map((n) => `${n.type} ${n.body.name}`);
  }

  /** Runs `fn` on every node once all nodes `after(node)` names are done; concurrent otherwise. */
  private async walk(after: (node: Node) => string[], fn: (node: Node) => Promise<void>): Promise<void> {
    const started = new Map<string, Promise<void>>();
    const visiting = new Set<string>();
    const visit = (address: string): Promise<void> => {
      let done = started.get(address);
      if (!done) {
        if (visiting.has(address)) throw new Error(`dependency cycle through ${address}`);
        visiting.add(address);
        const node = this.nodes.get(address)!;
        const before = after(node).map(visit);
        done = Promise.all(before).then(() => fn(node), () => {
          throw new Error(`${address}: not attempted, a dependency failed`);
        });
        started.set(address, done);
        visiting.delete(address);
      }
      return done;
    };
    const results = await Promise.allSettled([...this.nodes.keys()].map(visit));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []))
      .filter((m) => !m.endsWith('not attempted, a dependency failed'));
    if (failures.length > 0) throw new Error(failures.join('\n'));
  }

  /** Substitutes `${var.X}` and `${type.id.attr}` from vars and state; any other expression is an error. */
  private resolve(value: any): any {
    if (typeof value === 'string') {
      return value.replace(EXPRESSION, (_m, expr: string) => {
        const variable = VARIABLE.exec(expr);
        if (variable) {
          if (this.vars[variable[1]] === undefined) throw new Error(`no value for variable ${variable[1]}`);
          return this.vars[variable[1]];
        }
        const ref = REFERENCE.exec(expr);
        if (!ref) throw new Error(`expression \${${expr}} is not supported by this stand-in`);
        const value = this.state.get(`${ref[1] ?? ''}${ref[2]}.${ref[3]}`)?.[ref[4]];
        if (value === undefined) throw new Error(`unresolved reference ${expr}`);
        return String(value);
      });
    }
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(v)]));
    return value;
  }

  private async applyNode(node: Node): Promise<void> {
    try {
      const body = this.resolve({ ...node.body, depends_on: undefined, lifecycle: undefined });
      if (node.type.startsWith('consul_')) await this.applyConsul(node, body);
      else if (node.type === 'docker_image') await this.applyImage(node, body);
      else if (node.type === 'docker_network') await this.applyNetwork(node, body);
      else if (node.type === 'docker_volume') await this.applyVolume(node, body);
      else if (node.type === 'docker_container') await this.applyContainer(node, body);
      else throw new Error('resource type the library does not emit');
    } catch (e) {
      throw new Error(`${node.address}: ${(e as Error).message}`);
    }
  }

  private async inspect(kind: 'image' | 'network' | 'volume' | 'container', name: string): Promise<Json | undefined> {
    const r = await this.engine.docker([kind, 'inspect', name]);
    if (r.status !== 0) {
      if (/no such|not found/i.test(r.stderr)) return undefined;
      throw new Error(`docker ${kind} inspect ${name}: ${r.stderr.trim()}`);
    }
    return JSON.parse(r.stdout)[0];
  }

  private async applyImage(node: Node, b: Json): Promise<void> {
    // keep_locally images are built by the test harness; this stand-in never pulls.
    const image = await this.inspect('image', b.name);
    if (!image) throw new Error(`image ${b.name} is not on the engine (this stand-in never pulls)`);
    this.state.set(node.address, { id: `${image.Id}${b.name}`, image_id: image.Id, name: b.name });
  }

  private async applyNetwork(node: Node, b: Json): Promise<void> {
    if (!(await this.inspect('network', b.name))) {
      const ipam = (b.ipam_config ?? []).flatMap((c: Json) => [
        ...(c.subnet ? ['--subnet', c.subnet] : []), ...(c.gateway ? ['--gateway', c.gateway] : []), ...(c.ip_range ? ['--ip-range', c.ip_range] : []),
      ]);
      await this.engine.mustDocker(['network', 'create', '--driver', b.driver ?? 'bridge', ...ipam, b.name]);
    }
    this.state.set(node.address, { id: (await this.inspect('network', b.name))!.Id, name: b.name });
  }

  private async applyVolume(node: Node, b: Json): Promise<void> {
    if (!(await this.inspect('volume', b.name))) await this.engine.mustDocker(['volume', 'create', b.name]);
    this.state.set(node.address, { id: b.name, name: b.name });
  }

  private async applyContainer(node: Node, b: Json): Promise<void> {
    const unknown = Object.keys(b).filter((k) => !CONTAINER_ATTRIBUTES.has(k) && b[k] !== undefined);
    if (unknown.length > 0) throw new Error(`attributes this stand-in does not implement: ${unknown.join(', ')}`);
    const mustRun = b.must_run ?? true;
    const existing = await this.inspect('container', b.name);
    if (existing && (existing.State.Running || !mustRun)) {
      this.state.set(node.address, { id: existing.Id, name: b.name, exit_code: existing.State.Running ? undefined : existing.State.ExitCode });
      return;
    }
    // The provider's refresh removes a must_run container that stopped (and
    // fails that run); the next apply creates it again. Done here in one go.
    if (existing) await this.engine.mustDocker(['rm', '-f', '-v', b.name]);

    const [first, ...others] = b.networks_advanced ?? [];
    const endpoint = (n: Json, ip: string, alias: string) => [
      ...(n.ipv4_address ? [ip, n.ipv4_address] : []), ...(n.aliases ?? []).flatMap((a: string) => [alias, a]),
    ];
    const health = b.healthcheck?.[0] ?? b.healthcheck;
    if (health && health.test?.[0] !== 'CMD-SHELL') throw new Error(`healthcheck ${JSON.stringify(health.test)}: only CMD-SHELL is implemented`);
    // The CLI's --entrypoint takes one word: the rest of the entrypoint goes
    // before the command, which is the same argv for the process.
    const [entry, ...entryRest] = b.entrypoint ?? [];
    const create = [
      'create', '--name', b.name,
      ...(b.hostname ? ['--hostname', b.hostname] : []),
      ...(entry ? ['--entrypoint', entry] : []),
      ...(b.env ?? []).flatMap((e: string) => ['--env', e]),
      ...(b.volumes ?? []).flatMap((v: Json) => ['--volume', `${v.volume_name}:${v.container_path}${v.read_only ? ':ro' : ''}`]),
      ...(b.ports ?? []).flatMap((p: Json) => ['--publish', `${p.ip ?? '0.0.0.0'}:${p.external ?? ''}:${p.internal}/${p.protocol ?? 'tcp'}`]),
      ...(health ? [
        '--health-cmd', health.test[1],
        ...(health.interval ? ['--health-interval', health.interval] : []),
        ...(health.timeout ? ['--health-timeout', health.timeout] : []),
        ...(health.start_period ? ['--health-start-period', health.start_period] : []),
        ...(health.retries !== undefined ? ['--health-retries', String(health.retries)] : []),
      ] : []),
      '--restart', b.restart ?? 'no',
      ...(first ? ['--network', first.name, ...endpoint(first, '--ip', '--network-alias')] : []),
      b.image, ...entryRest, ...(b.command ?? []),
    ];
    await this.engine.mustDocker(create);
    for (const n of others) await this.engine.mustDocker(['network', 'connect', ...endpoint(n, '--ip', '--alias'), n.name, b.name]);
    for (const upload of b.upload ?? []) {
      await this.engine.mustDocker(['cp', '-', `${b.name}:/`], { input: tarOf(upload.file, Buffer.from(upload.content), upload.executable ? 0o744 : 0o644) });
    }
    for (const p of b.ports ?? []) if (p.ip === '127.0.0.1' && p.external) await this.engine.publish(p.external);
    await this.engine.mustDocker(['start', b.name]);

    let exitCode: number | undefined;
    if (b.attach) {
      // Stricter than the provider, which waits but records a non-zero exit_code without failing.
      exitCode = Number(await this.engine.mustDocker(['wait', b.name], { timeoutMs: 600_000 }));
      if (exitCode !== 0) throw new Error(`exited with ${exitCode}: ${await this.logs(b.name)}`);
    } else if (b.wait) {
      await this.waitHealthy(b.name, (b.wait_timeout ?? 60) * 1000);
    }
    const started = (await this.inspect('container', b.name))!;
    if (mustRun && !started.State.Running) throw new Error(`not running (exit ${started.State.ExitCode}): ${await this.logs(b.name)}`);
    this.state.set(node.address, { id: started.Id, name: b.name, exit_code: exitCode });
  }

  private async waitHealthy(name: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = (await this.inspect('container', name))!.State;
      const status = state.Health?.Status;
      if (status === 'healthy') return;
      const last = state.Health?.Log?.at(-1);
      const why = `health ${status}, last check exit ${last?.ExitCode}: ${JSON.stringify(last?.Output ?? '')}`;
      // The provider polls until wait_timeout; giving up at "unhealthy" only fails sooner.
      if (!state.Running || status === 'unhealthy') throw new Error(`${state.Running ? '' : `stopped (exit ${state.ExitCode}), `}${why}\n${await this.logs(name)}`);
      if (Date.now() > deadline) throw new Error(`not healthy after ${timeoutMs / 1000}s: ${why}\n${await this.logs(name)}`);
      await sleep(500);
    }
  }

  private async logs(name: string): Promise<string> {
    const r = await this.engine.docker(['logs', '--tail', '30', name]);
    return `${r.stdout}${r.stderr}`.trim();
  }

  private providerOf(b: Json): Json {
    const provider = (this.stack.provider?.consul ?? []).find((p: Json) => `consul.${p.alias}` === b.provider);
    if (!provider) throw new Error(`no provider ${b.provider}`);
    return provider;
  }

  private async applyConsul(node: Node, b: Json): Promise<void> {
    const resolvedProvider = this.resolve(this.providerOf(b));
    const known = this.state.get(node.address);
    if (known && !node.data && await this.consulObjectExists(node, b, resolvedProvider, known)) return;
    // One resource at a time through consul-api-apply, its references already
    // resolved here, so the endpoint mapping stays in one place.
    const single = { provider: { consul: [resolvedProvider] }, [node.data ? 'data' : 'resource']: { [node.type]: { [node.id]: b } } };
    const applied = await applyConsulResources(consulAt as unknown as ConsulCluster, single, resolvedProvider.token,
      (address) => address as Datacenter);
    this.state.set(node.address, applied.state.get(node.address)!);
    if (!node.data) this.consulUndo.set(node.address, applied.destroy);
  }

  /** Terraform's refresh of a Consul object this deployment created earlier. */
  private async consulObjectExists(node: Node, b: Json, provider: Json, known: Json): Promise<boolean> {
    const path = {
      consul_acl_policy: `/v1/acl/policy/${known.id}`,
      consul_acl_token: `/v1/acl/token/${known.id}`,
      consul_config_entry: `/v1/config/${b.kind}/${b.name}`,
    }[node.type];
    if (!path) throw new Error('no refresh for this type');
    const res = await consulAt.api(provider.address, 'GET', `${path}?dc=${provider.datacenter}`, undefined, provider.token);
    if (res.status === 200) return true;
    if (res.status === 404 || (res.status === 403 && /ACL not found/.test(res.text))) return false;
    throw new Error(`refresh: GET ${path}: ${res.status} ${res.text}`);
  }

  private async destroyNode(node: Node): Promise<void> {
    const name = node.body.name;
    switch (node.type) {
      case 'docker_container':
        await this.engine.docker(['rm', '-f', '-v', name]);
        break;
      case 'docker_network':
        if (await this.inspect('network', name)) await this.engine.mustDocker(['network', 'rm', name]);
        break;
      case 'docker_volume':
        if (await this.inspect('volume', name)) await this.engine.mustDocker(['volume', 'rm', name]);
        break;
      case 'docker_image':
        break; // keep_locally
      default: {
        const undo = this.consulUndo.get(node.address);
        this.consulUndo.delete(node.address);
        await undo?.();
      }
    }
    this.state.delete(node.address);
  }
}

/**
 * The one lifecycle block this stand-in honours: a postcondition that an
 * attached container exited 0, which its `attach` handling already enforces.
 */
function checkLifecycle(address: string, body: Json): void {
  if (body.lifecycle === undefined) return;
  const { postcondition, ...rest } = body.lifecycle;
  const exitZero = (c: Json) => /^\$\{self\.exit_code\s*==\s*0\}$/.test(c.condition);
  if (Object.keys(rest).length > 0 || !body.attach || !(postcondition ?? []).every(exitZero)) {
    throw new Error(`${address}: lifecycle ${JSON.stringify(body.lifecycle)} is not supported by this stand-in`);
  }
}

/** A one-file tar archive (ustar), as the provider builds for `upload`: the path is the file's, extracted at "/". */
function tarOf(file: string, content: Buffer, mode: number): Buffer {
  const name = file.replace(/^\/+/, '');
  if (Buffer.byteLength(name) > 99) throw new Error(`upload path too long for this stand-in's tar: ${file}`);
  const header = Buffer.alloc(512);
  const octal = (n: number, width: number) => `${n.toString(8).padStart(width - 1, '0')}\0`;
  header.write(name, 0);
  header.write(octal(mode, 8), 100);
  header.write(octal(0, 8), 108);
  header.write(octal(0, 8), 116);
  header.write(octal(content.length, 12), 124);
  header.write(octal(Math.floor(Date.now() / 1000), 12), 136);
  header.write('        ', 148); // checksum field counts as spaces while summing
  header.write('0', 156);
  header.write('ustar\u000000', 257);
  const sum = header.reduce((acc, byte) => acc + byte, 0);
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024)]);
}
