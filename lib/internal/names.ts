import { IConstruct } from 'constructs';
import { invalidInput } from './errors';

const SERVICE = /^[a-zA-Z0-9]([a-zA-Z0-9_-]*[a-zA-Z0-9])?$/;
// Consul's own rule for peer names (a DNS label).
const PEER = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A Consul service name; `*` too where `wildcard` says what it means there. */
export function checkServiceName(scope: IConstruct, prop: string, name: string, wildcard?: string): string {
  if (name === '*' && wildcard !== undefined) return name;
  if (!SERVICE.test(name)) {
    throw invalidInput(scope, `${prop} is not a valid service name`, name,
      `Use letters, digits, dashes and underscores (e.g. "api")${wildcard ? `, or "*" for ${wildcard}` : ''}.`);
  }
  return name;
}

export function checkPeerName(scope: IConstruct, prop: string, name: string): string {
  if (!PEER.test(name)) {
    throw invalidInput(scope, `${prop} is not a valid peer name`, name,
      'Use 1-63 lowercase letters, digits and dashes, starting and ending with a letter or digit (e.g. "west").');
  }
  return name;
}
