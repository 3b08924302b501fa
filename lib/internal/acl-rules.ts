// ACL rule text for gateways and the control plane. Rendered as HCL because
// that is what `consul acl policy read` shows and what operators review.

export interface GatewayRuleOptions {
  readonly kind: 'mesh' | 'ingress' | 'terminating';
  readonly service: string;
  /** Services a terminating gateway may represent: each needs service write. */
  readonly linkedServices?: string[];
  /** Adds `peering = "read"`, which only mesh gateways of peered clusters need. */
  readonly peering?: boolean;
  /** `agent_prefix "" read`, needed only when `consul connect envoy` discovers gRPC through the agent. */
  readonly agentRead?: boolean;
}

export function gatewayRules(opts: GatewayRuleOptions): string {
  const lines: string[] = [];
  if (opts.kind === 'mesh') lines.push('mesh = "write"');
  if (opts.kind === 'mesh' && opts.peering) lines.push('peering = "read"');
  lines.push(block('service', opts.service, 'write'));
  for (const linked of opts.linkedServices ?? []) lines.push(block('service', linked, 'write'));
  lines.push(block('service_prefix', '', 'read'));
  lines.push(block('node_prefix', '', 'read'));
  if (opts.agentRead ?? true) lines.push(block('agent_prefix', '', 'read'));
  return lines.join('\n') + '\n';
}

/** What a secondary needs to replicate ACLs (and config entries) from the primary. */
export function replicationRules(): string {
  return [
    'acl = "write"',
    'operator = "write"',
    'service_prefix "" {\n  policy     = "read"\n  intentions = "read"\n}',
  ].join('\n') + '\n';
}

function block(resource: string, name: string, policy: string): string {
  return `${resource} ${JSON.stringify(name)} {\n  policy = "${policy}"\n}`;
}
