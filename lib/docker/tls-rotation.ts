// Rotating the servers' TLS (a new CA, or new server certificates of the
// same CA) with one prop change and no restart: Consul reloads its CA,
// certificate and key files on `consul reload`. Servers verify each other
// both ways (verify_incoming, verify_server_hostname), inside a datacenter
// and across the WAN, so the change goes in three phases, each done on
// every server of the federation before the next starts:
//   1. every server trusts the new CA besides the old (its CA file a bundle);
//   2. every server presents a certificate of the new CA;
//   3. every server trusts the new CA alone.
// One one-shot per datacenter, beside its servers' TLS volumes, runs the
// phases on them; the datacenters wait for each other between phases through
// the primary's KV store (keys under `cdktf-consul-mesh/tls-rotation/`),
// which they reach over the very RPC the phases keep working. A server is
// done when its CA file is the new CA alone and its certificate carries the
// mark of the CA and generation it was signed for, so a first deploy does
// nothing, and a killed rotation re-applies from where it stopped.
import { Construct } from 'constructs';
import { caFiles, CertificateAuthority, issuedMark, signInto } from './certificates';
import { consulCliEnv, pollUntil, StackEngine } from './stack-engine';
import { CONSUL_PORTS } from '../internal/agent-config';
import { Container } from '../internal/providers';
import { ITerraformDependable } from '../internal/tf';

/** The KV prefix of the datacenters' progress, in the primary. */
export const TLS_ROTATION_KEYS = 'cdktf-consul-mesh/tls-rotation';

/** A server whose TLS files the rotation changes. */
export interface TlsRotationServer {
  readonly node: string;
  readonly lanAddress: string;
  /** The volume its TLS files are in. */
  readonly tlsVolume: string;
  /** The host address its certificate also names. */
  readonly hostAddress?: string;
}

/** What a datacenter's rotation needs. */
export interface TlsRotationTarget {
  readonly name: string;
  readonly datacenter: string;
  /** The federation's primary (the progress is kept there) and every datacenter of it, this one included. */
  readonly primaryDatacenter: string;
  readonly datacenters: readonly string[];
  readonly servers: readonly TlsRotationServer[];
  readonly ca: CertificateAuthority;
  /** The server certificates' generation: a new one re-issues them from the same CA. */
  readonly generation: number;
  readonly networkName: string;
  readonly image: string;
  readonly managementToken: string;
  readonly after: ITerraformDependable[];
}

/**
 * The rotation's shell script for one datacenter (the servers' TLS volumes
 * at /tls/0, /tls/1, ...). It never prints a key.
 */
export function tlsRotationScript(t: Pick<TlsRotationTarget, 'datacenter' | 'servers' | 'ca' | 'generation' | 'primaryDatacenter' | 'datacenters'>): string {
  const { cert, key } = caFiles(t.ca);
  const ids = t.servers.map((_, i) => i).join(' ');
  const per = (body: (s: TlsRotationServer, i: number) => string) => t.servers.map(body).join('\n');
  const api = (s: TlsRotationServer) => `http://${s.lanAddress}:${CONSUL_PORTS.http}`;
  return [
    'set -e',
    ...(t.ca.kind === 'supplied' ? [`trap 'rm -f ${key}' EXIT`] : []),
    `want=${issuedMark(cert, t.generation)}`,
    // A bundle holds the CA if its text, newlines aside, contains the CA's.
    `flat() { tr -d '\\n\\r' < "$1"; }`,
    `trusts() { flat /tls/$1/ca.pem | grep -qF -e "$(flat ${cert})"; }`,
    `only() { cmp -s /tls/$1/ca.pem ${cert}; }`,
    // Certificates issued before marks existed: the first generation of the only CA the server knows.
    `issued() { if [ -f /tls/$1/issued ]; then [ "$(cat /tls/$1/issued)" = "$want" ]; else only $1 && [ ${t.generation} = 1 ]; fi; }`,
    `current() { for i in ${ids}; do only $i && issued $i || return 1; done; }`,
    // Server $1's CA file becomes the files that follow, replaced whole (a server reloading never reads half of it).
    `set_ca() { i=$1; shift; cat "$@" > /tls/$i/ca.new; mv /tls/$i/ca.new /tls/$i/ca.pem; }`,
    `key=${TLS_ROTATION_KEYS}/$(echo "$want" | tr ' ' '-')`,
    // This datacenter's phase, recorded in the primary; it never goes back (a re-run after a kill starts from phase 1).
    `at() { consul kv get -datacenter=${t.primaryDatacenter} "$key/$1" 2>/dev/null || echo 0; }`,
    `reached() { for d in ${t.datacenters.join(' ')}; do [ "$(at $d)" -ge $1 ] || return 1; done; }`,
    `phase() { [ "$(at ${t.datacenter})" -ge $1 ] || consul kv put -datacenter=${t.primaryDatacenter} "$key/${t.datacenter}" $1 >/dev/null; ${pollUntil('reached $1', 'the other datacenters did not all reach TLS rotation phase $1', 300)}; }`,
    // After a reload the server must still reach the leader (over TLS, from a follower).
    `reload() { env CONSUL_HTTP_ADDR="$1" consul reload >/dev/null; ${pollUntil('env CONSUL_HTTP_ADDR="$1" consul operator raft list-peers >/dev/null 2>&1', 'a server did not reach its leader after a TLS reload', 60)}; }`,
    // Nothing to do (every first deploy): no other datacenter is waiting for this one, which reached phase 3 before if it ever rotated.
    `if current; then echo "every server of ${t.datacenter} trusts only the configured CA and presents a certificate of it"; exit 0; fi`,
    per((s, i) => `if ! trusts ${i}; then\n  set_ca ${i} /tls/${i}/ca.pem ${cert}\n  reload ${api(s)}\nfi`),
    'phase 1',
    per((s, i) => `if ! issued ${i}; then\n  (${signInto(`/tls/${i}`, { datacenter: t.datacenter, node: s.node, caCert: cert, caKey: key, hostAddress: s.hostAddress, generation: t.generation })})\n  reload ${api(s)}\nfi`),
    'phase 2',
    per((s, i) => `if ! only ${i}; then\n  set_ca ${i} ${cert}\n  reload ${api(s)}\nfi`),
    'phase 3',
    `echo "TLS rotated in ${t.datacenter}: every server trusts only the configured CA and presents a certificate of it"`,
  ].join('\n');
}

/** The one-shot that brings a datacenter's servers to `target`'s CA and generation (recreated when either changes). */
export function rotateServerTls(scope: Construct, engine: StackEngine, target: TlsRotationTarget): Container {
  const { ca } = target;
  const { cert, key } = caFiles(ca);
  const tlsVolumes = target.servers.map((s, i) => ({ volumeName: s.tlsVolume, containerPath: `/tls/${i}` }));
  return engine.oneShot(scope, 'TlsRotation', {
    name: target.name,
    image: engine.image(target.image).imageId,
    entrypoint: ['/bin/sh', '-c'],
    command: [tlsRotationScript(target)],
    env: consulCliEnv(target.servers[0].lanAddress, target.managementToken),
    networksAdvanced: [{ name: target.networkName }],
    ...(ca.kind === 'volume'
      ? { volumes: [{ volumeName: ca.caVolume.name, containerPath: '/ca', readOnly: true }, ...tlsVolumes] }
      : { volumes: tlsVolumes, upload: [{ file: cert, content: ca.certificate }, { file: key, content: ca.privateKey }] }),
    dependsOn: [...target.after, ...(ca.kind === 'volume' ? [ca.caReady] : [])],
  });
}
