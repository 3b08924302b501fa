// Sends the consul_* resources of a synthesized stack to real Consul servers
// through the HTTP endpoints terraform-provider-consul calls for them. It
// stands in for `terraform apply` only because the provider cannot be built
// on these machines (see README, Limits); what Consul stores and enforces is
// real. Supports exactly the resource types the library emits, and only the
// arguments it sets. Known differences from the provider: config entries are
// sent as config_json plus Kind/Name (the provider decodes them into Consul's
// API structs first, silently dropping unknown keys, which Consul would
// refuse here), and docker_container resources are never run: a test that
// needs one (a gateway registration) applies in two phases around it.
import { ConsulCluster, Datacenter } from './consul-cluster';

type Json = Record<string, any>;

interface Node {
  readonly address: string; // e.g. consul_acl_policy.fed_X or data.consul_acl_token_secret_id.fed_Y
  readonly type: string;
  readonly body: Json;
  /** The harness agent the provider's address points at. */
  readonly agent: Datacenter;
  /** The provider's `datacenter`, sent as `?dc=` like the provider's client does. */
  readonly dc: string;
}

export interface Applied {
  /** Attributes by address, as Terraform would expose them (`name`, `accessor_id`, `secret_id`, `peering_token`, `id`). */
  readonly state: Map<string, Json>;
  /** Deletes everything applied, newest first, through the same endpoints. */
  destroy(): Promise<void>;
}

export interface ApplyOptions {
  /** Apply only the resources this accepts (default: all). */
  readonly include?: (address: string, type: string, body: Json) => boolean;
  /** An earlier phase of the same stack: its state resolves references, and what it applied is not applied again. */
  readonly after?: Applied;
}

const REFERENCE = /\$\{((?:data\.)?[a-z_]+\.[A-Za-z0-9_-]+)\.([a-z_]+)\}/g;

/**
 * Applies in dependency order. `agentOf` maps a provider's `address` (as
 * synthesized, e.g. 127.0.0.1:8501) to the harness agent that stands for it.
 */
export async function applyConsulResources(cluster: ConsulCluster, stack: Json, token: string,
  agentOf: (address: string) => Datacenter, options: ApplyOptions = {}): Promise<Applied> {
  const providers = new Map<string, Json>((stack.provider?.consul ?? []).map((p: Json) => [`consul.${p.alias}`, p]));
  const nodes: Node[] = [];
  for (const [block, prefix] of [['resource', ''], ['data', 'data.']]) {
    for (const [type, byId] of Object.entries<Json>(stack[block] ?? {})) {
      if (!type.startsWith('consul_')) continue;
      for (const [id, body] of Object.entries<Json>(byId)) {
        const provider = providers.get(body.provider);
        if (!provider) throw new Error(`${prefix}${type}.${id}: no provider ${body.provider}`);
        nodes.push({ address: `${prefix}${type}.${id}`, type, body, agent: agentOf(provider.address), dc: provider.datacenter });
      }
    }
  }

  const state = new Map<string, Json>(options.after?.state ?? []);
  const undo: (() => Promise<void>)[] = [];
  const call = async (node: Node, method: string, path: string, body?: unknown) => {
    const res = await cluster.api(node.agent, method, `${path}?dc=${node.dc}`, body, token);
    if (res.status !== 200) throw new Error(`${method} ${path}?dc=${node.dc} via ${node.agent}: ${res.status} ${res.text}`);
    return res.json;
  };
  const resolve = (value: any): any => {
    if (typeof value === 'string') {
      return value.replace(REFERENCE, (_m, address: string, attr: string) => {
        const attrs = state.get(address);
        if (!attrs || attrs[attr] === undefined) throw new Error(`unresolved reference ${address}.${attr}`);
        return attrs[attr];
      });
    }
    if (Array.isArray(value)) return value.map(resolve);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]));
    return value;
  };
  const pending = nodes.filter((n) => !state.has(n.address) && (options.include?.(n.address, n.type, n.body) ?? true));
  // Terraform waits for references and for depends_on; only consul_* ones can be waited for here.
  const ready = (n: Node) => [
    ...[...JSON.stringify({ ...n.body, depends_on: undefined }).matchAll(REFERENCE)].map((m) => m[1]),
    ...(n.body.depends_on ?? []) as string[],
  ].every((address) => state.has(address) || !pending.some((o) => o.address === address));

  while (pending.length > 0) {
    const index = pending.findIndex(ready);
    if (index < 0) throw new Error(`cyclic or dangling references among ${pending.map((n) => n.address).join(', ')}`);
    const [node] = pending.splice(index, 1);
    const b = resolve(node.body);
    switch (node.type) {
      case 'consul_acl_policy': {
        const created = await call(node, 'PUT', '/v1/acl/policy', {
          Name: b.name, Description: b.description, Rules: b.rules, Datacenters: b.datacenters,
        });
        state.set(node.address, { id: created.ID, name: created.Name });
        undo.push(async () => void await call(node, 'DELETE', `/v1/acl/policy/${created.ID}`));
        break;
      }
      case 'consul_acl_token': {
        const created = await call(node, 'PUT', '/v1/acl/token', {
          Description: b.description,
          Policies: (b.policies ?? []).map((name: string) => ({ Name: name })),
          NodeIdentities: (b.node_identities ?? []).map((n: Json) => ({ NodeName: n.node_name, Datacenter: n.datacenter })),
          Local: b.local ?? false,
        });
        state.set(node.address, { id: created.AccessorID, accessor_id: created.AccessorID });
        undo.push(async () => void await call(node, 'DELETE', `/v1/acl/token/${created.AccessorID}`));
        break;
      }
      case 'consul_acl_token_secret_id': {
        const read = await call(node, 'GET', `/v1/acl/token/${b.accessor_id}`);
        state.set(node.address, { secret_id: read.SecretID });
        break;
      }
      case 'consul_config_entry': {
        // The provider decodes config_json, adds Kind and Name, and writes it;
        // Consul's API struct for `mesh` has no Name, so none is sent for it.
        await call(node, 'PUT', '/v1/config', { ...JSON.parse(b.config_json), Kind: b.kind, ...(b.kind === 'mesh' ? {} : { Name: b.name }) });
        state.set(node.address, { id: `${b.kind}-${b.name}` });
        undo.push(async () => void await call(node, 'DELETE', `/v1/config/${b.kind}/${b.name}`));
        break;
      }
      case 'consul_node': {
        await call(node, 'PUT', '/v1/catalog/register', { Node: b.name, Address: b.address, NodeMeta: b.meta });
        state.set(node.address, { id: `${b.name}-${b.address}`, name: b.name, address: b.address });
        undo.push(async () => void await call(node, 'PUT', '/v1/catalog/deregister', { Node: b.name, Address: b.address }));
        break;
      }
      case 'consul_service': {
        // The provider refuses to create the node implicitly, and marks what it registers.
        const existing = await call(node, 'GET', `/v1/catalog/node/${b.node}`);
        if (!existing) throw new Error(`${node.address}: Node does not exist: '${b.node}'`);
        const address = b.address ?? existing.Node.Address;
        await call(node, 'PUT', '/v1/catalog/register', {
          Node: b.node, Address: address, SkipNodeUpdate: true,
          Service: { ...(b.service_id ? { ID: b.service_id } : {}), Service: b.name, Address: address, Port: b.port, Tags: b.tags, Meta: { 'external-source': 'terraform' } },
        });
        const id = b.service_id ?? b.name;
        state.set(node.address, { id, service_id: id, name: b.name, node: b.node });
        undo.push(async () => void await call(node, 'PUT', '/v1/catalog/deregister', { Node: b.node, ServiceID: id }));
        break;
      }
      case 'consul_peering_token': {
        const created = await call(node, 'POST', '/v1/peering/token', {
          PeerName: b.peer_name, ...(b.server_external_addresses ? { ServerExternalAddresses: b.server_external_addresses } : {}), Meta: b.meta,
        });
        state.set(node.address, { id: b.peer_name, peer_name: b.peer_name, peering_token: created.PeeringToken });
        undo.push(async () => void await call(node, 'DELETE', `/v1/peering/${b.peer_name}`));
        break;
      }
      case 'consul_peering': {
        await call(node, 'POST', '/v1/peering/establish', { PeerName: b.peer_name, PeeringToken: b.peering_token, Meta: b.meta });
        const read = await call(node, 'GET', `/v1/peering/${b.peer_name}`);
        state.set(node.address, { id: b.peer_name, peer_name: b.peer_name, peer_id: read.PeerID, state: read.State });
        undo.push(async () => void await call(node, 'DELETE', `/v1/peering/${b.peer_name}`));
        break;
      }
      default:
        throw new Error(`${node.address}: resource type the library does not emit`);
    }
  }
  return {
    state,
    destroy: async () => {
      while (undo.length > 0) await undo.pop()!();
    },
  };
}
