import { IConstruct } from 'constructs';
import { invalidInput } from './errors';
import { checkAtPlan, hostPortCondition, portCondition } from './plan-checks';
import { Token } from './tf';

const DATACENTER_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Consul accepts lowercase letters, digits and dashes in datacenter names. */
export function checkDatacenterName(scope: IConstruct, name: string, what = 'datacenter name'): string {
  if (!DATACENTER_NAME.test(name) || name.length > 63) {
    throw invalidInput(scope, `invalid ${what}`, name,
      'Use 1-63 lowercase letters, digits and dashes, starting and ending with a letter or digit (e.g. "dc1", "eu-west").');
  }
  return name;
}

/** Gateways are Connect proxies: their datacenter must have Connect on. */
export function checkConnect(scope: IConstruct, what: string, datacenter: { name: string; connectEnabled: boolean }): void {
  if (!datacenter.connectEnabled) {
    throw invalidInput(scope, `${what} needs Connect, which is disabled in datacenter "${datacenter.name}"`, false,
      'Remove `connect: false` from that datacenter, or put the gateway in another one.');
  }
}

export function checkReplicas(scope: IConstruct, replicas: number): number {
  if (!Number.isInteger(replicas) || replicas < 1) {
    throw invalidInput(scope, 'replicas must be a whole number of at least 1', replicas, 'Use replicas: 1 or more.');
  }
  return replicas;
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];
// Docker's rule for container, network and volume names.
const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Consul's log levels (any case, as JavaScript callers may pass them): an unknown one keeps the agent from starting. */
export function checkLogLevel<T extends string>(scope: IConstruct, level: T): T {
  if (typeof level !== 'string' || !LOG_LEVELS.includes(level.toLowerCase())) {
    throw invalidInput(scope, 'unknown Consul log level', level, 'Use LogLevel.TRACE, .DEBUG, .INFO, .WARN or .ERROR.');
  }
  return level;
}

/** A prefix of Docker object names: it is written into container, network and volume names. */
export function checkNamePrefix(scope: IConstruct, prefix: string): string {
  if (!DOCKER_NAME.test(prefix)) {
    throw invalidInput(scope, 'namePrefix must be usable in Docker container, network and volume names', prefix,
      'Use letters, digits, "_", "." and "-", starting with a letter or digit (e.g. "consul").');
  }
  return prefix;
}

/** An image reference: the docker provider would pass an empty or spaced one on to the engine. */
export function checkImage(scope: IConstruct, prop: string, image: string): string {
  if (image === '' || /\s/.test(image)) {
    throw invalidInput(scope, `${prop} is not an image reference`, image, 'Use e.g. "hashicorp/consul:1.19.2".');
  }
  return image;
}

/**
 * A struct with keys its type does not have. From Python, a dict inside a list
 * reaches the library as it is (jsii turns dicts into structs only where a
 * struct is expected directly), so `{"http_port": 8600}` would be ignored.
 * `known` lists the type's keys (a Record, so the compiler keeps it complete).
 */
export function checkKeys<T>(scope: IConstruct, prop: string, value: T, known: Record<keyof T, true>, struct: string): T {
  if (value === null || typeof value !== 'object') return value;
  for (const key of Object.keys(value as object)) {
    if (key in known) continue;
    const camel = key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
    const fix = camel in known
      ? `Use "${camel}"${camel !== key ? `; from Python, pass ${struct}(${key}=...) rather than a dict` : ''}.`
      : `Known keys of ${struct}: ${Object.keys(known).join(', ')}.`;
    throw invalidInput(scope, `${prop} has an unknown key "${key}"`, key, fix);
  }
  return value;
}

/**
 * `host:port` or `[ipv6]:port`, with a port from 1 to 65535; a reference
 * (e.g. a variable) is checked at plan time.
 */
export function checkHostPort(scope: IConstruct, problem: string, address: string, fix: string): string {
  if (Token.isUnresolved(address)) {
    checkAtPlan(scope, hostPortCondition(address), `${scope.node.path}: ${problem}. ${fix}`);
    return address;
  }
  const m = /^(?:\[[0-9A-Fa-f:.]+\]|[^\s/:[\]]+):(\d{1,5})$/.exec(address);
  const port = m ? Number(m[1]) : 0;
  if (port < 1 || port > 65535) throw invalidInput(scope, problem, address, fix);
  return address;
}

/**
 * A TCP port. Where it reaches Terraform as an attribute (`atPlan`), a
 * reference is checked at plan time; where the library renders it into
 * JSON at synth, it must be a number then.
 */
export function checkPort(scope: IConstruct, prop: string, port: number, atPlan = false): number {
  if (Token.isUnresolved(port)) {
    if (!atPlan) {
      throw invalidInput(scope, `${prop} is written into JSON at synth, so it must be a number, not a Terraform reference`, '<reference>',
        'Pass the port as a number.');
    }
    checkAtPlan(scope, portCondition(port), `${scope.node.path}: ${prop} must be a TCP port (an integer from 1 to 65535).`);
    return port;
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalidInput(scope, `${prop} must be a TCP port`, port, 'Use an integer from 1 to 65535.');
  }
  return port;
}

/** Length in UTF-8 bytes: Consul's limits count bytes (Go's len), not UTF-16 units. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/** Whether `text` is a dotted-quad IPv4 address, each part from 0 to 255. */
export function isIpv4(text: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  return m !== null && m.slice(1).every((o) => Number(o) <= 255);
}

/** An IPv4 address (Consul advertises it, Docker binds ports on it). */
export function checkHostAddress(scope: IConstruct, address: string): string {
  if (!isIpv4(address) || address.startsWith('127.') || address === '0.0.0.0') {
    throw invalidInput(scope, 'hostAddress must be an IPv4 address of the Docker host that the other datacenters\' hosts can reach', address,
      'Use the host\'s address on the network between the hosts, e.g. "192.0.2.10" (not a name, not loopback, not 0.0.0.0).');
  }
  return address;
}
