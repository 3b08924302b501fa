import { IConstruct } from 'constructs';
import type { IDatacenter } from '../datacenter/datacenter';
import { findInStack } from './cluster';
import { validationMessage } from './errors';

/** What every gateway construct records about itself. */
export interface GatewayRecord {
  readonly kind: 'mesh' | 'ingress' | 'terminating';
  readonly datacenter: IDatacenter;
  /** Its Consul service name: names its policy, token and containers in the datacenter. */
  readonly service: string;
  /** Ports the gateway's process takes: its registered port, and an ingress gateway's listeners. */
  ports(): number[];
}

/** Where `consul connect envoy` puts Envoy's admin listener, in the gateway's own process. */
const ENVOY_ADMIN_PORT = 19000;

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
 * (an operator's machine, host networking), and two with one service name
 * would be one policy, one token and one set of containers. Reported by the
 * later-created gateway of each pair, so each clash is named once. A port
 * equal to Envoy's admin port clashes within the gateway's own process.
 */
export function gatewayPortClashes(gateway: IConstruct): string[] {
  const self = recordOf(gateway)!;
  const errors: string[] = [];
  if (self.ports().includes(ENVOY_ADMIN_PORT)) {
    errors.push(validationMessage(`port ${ENVOY_ADMIN_PORT} of ${self.kind} gateway ${gateway.node.path} is Envoy's admin port in the same process`,
      ENVOY_ADMIN_PORT, 'Use another port for the gateway or listener.'));
  }
  for (const other of gatewaysOf(gateway, self.datacenter)) {
    const record = recordOf(other)!;
    if (other === gateway || record.sequence > self.sequence) continue;
    if (record.service === self.service) {
      errors.push(validationMessage(
        `${self.kind} gateway ${gateway.node.path} has the service name of ${record.kind} gateway ${other.node.path} in datacenter "${self.datacenter.name}"`,
        self.service, 'Give each gateway of a datacenter its own serviceName.'));
    }
    for (const port of self.ports().filter((p) => record.ports().includes(p))) {
      errors.push(validationMessage(
        `port ${port} of ${self.kind} gateway ${gateway.node.path} is taken by ${record.kind} gateway ${other.node.path} in datacenter "${self.datacenter.name}"`,
        port, 'Give each gateway of a datacenter its own ports.'));
    }
  }
  return errors;
}
