import { IConstruct } from 'constructs';
import { invalidInput } from '../internal/errors';

/**
 * A service's protocol, as Consul stores it (lowercase): what its proxies
 * speak, and what an ingress listener in front of it must match.
 */
export enum Protocol {
  /** Plain TCP, Consul's default: L4 only, no routing by host or path. */
  TCP = 'tcp',
  /** HTTP/1.1. */
  HTTP = 'http',
  /** HTTP/2. */
  HTTP2 = 'http2',
  /** gRPC (over HTTP/2). */
  GRPC = 'grpc',
}

const VALUES = Object.values(Protocol) as string[];

/**
 * A protocol as received: JavaScript and Python callers can pass any string,
 * and Consul lowercases what it stores, so a plan would never be clean.
 * @internal
 */
export function checkProtocol(scope: IConstruct, protocol: Protocol): Protocol {
  if (!VALUES.includes(protocol)) {
    throw invalidInput(scope, 'unknown protocol', protocol, 'Use Protocol.TCP, .HTTP, .HTTP2 or .GRPC (Consul\'s "tcp", "http", "http2", "grpc").');
  }
  return protocol;
}

/** Whether requests are routed by HTTP host (http, http2, grpc). @internal */
export function isHttpFamily(protocol: Protocol): boolean {
  return protocol !== Protocol.TCP;
}
