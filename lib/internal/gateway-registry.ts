import { IConstruct } from 'constructs';
import type { IDatacenter } from '../datacenter/datacenter';
import { findInStack } from './cluster';
import { validationMessage } from './errors';

/** What every gateway construct records about itself. */
export interface GatewayRecord {
  readonly kind: 'mesh' | 'ingress' | 'terminating';
  readonly datacenter: IDatacenter;
  /** Ports the gateway's process takes: its registered port, and an ingress gateway's listeners. */
  ports(): number[];
}

interface Registered extends GatewayRecord {
  readonly sequence: number;
}

const RECORD = Symbol.for('cdktf-consul-mesh.gateway');
let sequence = 0;

export function registerGateway(gateway: IConstruct, record: GatewayRecord): void {
  Object.defineProperty(gateway, RECORD, { value: { ...record, sequence: sequence++ } });
}

function recordOf(c: IConstruct): Registered | undefined {
  return (c as unknown as Record<symbol, Registered | undefined>)[RECORD];
}

/** The gateways of a datacenter in `scope`'s stack, mesh ones with `kind: 'mesh'`. */
export function gatewaysOf(scope: IConstruct, datacenter: IDatacenter, kind?: GatewayRecord['kind']): IConstruct[] {
  return findInStack(scope, (c): c is IConstruct => {
    const r = recordOf(c);
    return !!r && r.datacenter === datacenter && (kind === undefined || r.kind === kind);
  });
}

/**
 * Two gateways of one datacenter on one port clash wherever they share a host
 * (an operator's machine, host networking). Reported by the later-created
 * gateway of each pair, so each clash is named once.
 */
export function gatewayPortClashes(gateway: IConstruct): string[] {
  const self = recordOf(gateway)!;
  const errors: string[] = [];
  for (const other of gatewaysOf(gateway, self.datacenter)) {
    const record = recordOf(other)!;
    if (other === gateway || record.sequence > self.sequence) continue;
    for (const port of self.ports().filter((p) => record.ports().includes(p))) {
      errors.push(validationMessage(
        `port ${port} of ${self.kind} gateway ${gateway.node.path} is taken by ${record.kind} gateway ${other.node.path} in datacenter "${self.datacenter.name}"`,
        port, 'Give each gateway of a datacenter its own ports.'));
    }
  }
  return errors;
}
