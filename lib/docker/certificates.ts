import { Construct, IConstruct } from 'constructs';
import { StackEngine } from './stack-engine';
import { DatacenterTls } from '../datacenter/datacenter-tls';
import { TLS_DIR } from '../internal/agent-config';
import { invalidInput } from '../internal/errors';
import { Container, Volume } from '../internal/providers';
import { requireReference } from '../internal/secrets';
import { Token } from '../internal/tf';
import { ITerraformDependable } from '../internal/tf';
import { checkKeys } from '../internal/validation';

/**
 * The servers' CA: created in a volume (its key never leaves the engine), or
 * supplied by the user (one CA for datacenters on different engines).
 */
export type CertificateAuthority =
  | { readonly kind: 'volume'; readonly caVolume: Volume; readonly caReady: ITerraformDependable }
  | { readonly kind: 'supplied'; readonly certificate: string; readonly privateKey: string };

/**
 * Creates the servers' CA inside a Docker volume with `consul tls ca create`,
 * so its key never passes through Terraform state. Each generation has a
 * volume of its own (`<prefix>-ca`, then `<prefix>-ca-2`, ...): a new one is a
 * new CA, which tls-rotation.ts rolls out.
 */
export function createCertificateAuthority(scope: Construct, engine: StackEngine, prefix: string, image: string, generation: number): CertificateAuthority {
  const caVolume = new Volume(scope, 'CaVolume', { provider: engine.provider, name: generation === 1 ? `${prefix}-ca` : `${prefix}-ca-${generation}` });
  const caReady = engine.oneShot(scope, 'CreateCa', {
    name: `${prefix}-create-ca`,
    image: engine.image(image).imageId,
    entrypoint: ['/bin/sh', '-c'],
    command: ['cd /ca && (test -f consul-agent-ca.pem || consul tls ca create)'],
    volumes: [{ volumeName: caVolume.name, containerPath: '/ca' }],
  });
  return { kind: 'volume', caVolume, caReady };
}

/** The user's CA, checked: its key must be a reference. */
export function suppliedCertificateAuthority(scope: IConstruct, tls: DatacenterTls): CertificateAuthority {
  checkKeys(scope, 'tls', tls, { caCertificate: true, caPrivateKey: true, previousCaCertificate: true }, 'DatacenterTls');
  if (typeof tls.caCertificate !== 'string' || (!Token.isUnresolved(tls.caCertificate) && !tls.caCertificate.includes('-----BEGIN CERTIFICATE-----'))) {
    throw invalidInput(scope, 'tls.caCertificate is not a PEM certificate', typeof tls.caCertificate === 'string' ? `${tls.caCertificate.slice(0, 40)}...` : tls.caCertificate,
      'Pass the contents of the CA file `consul tls ca create` writes (consul-agent-ca.pem), or a reference to them.');
  }
  return { kind: 'supplied', certificate: tls.caCertificate, privateKey: requireReference(scope, 'tls.caPrivateKey', tls.caPrivateKey) };
}

/** Where the one-shot finds the CA it signs with. */
export function caFiles(ca: CertificateAuthority): { cert: string; key: string } {
  return ca.kind === 'volume'
    ? { cert: '/ca/consul-agent-ca.pem', key: '/ca/consul-agent-ca-key.pem' }
    : { cert: '/upload/ca.pem', key: '/upload/ca-key.pem' };
}

/**
 * The mark a certificate's TLS volume keeps (`issued`): the CA's fingerprint
 * and the generation, as a shell expression of the CA file `caCert`.
 */
export function issuedMark(caCert: string, generation: number): string {
  return `"$(sha256sum < ${caCert} | cut -c1-16) ${generation}"`;
}

/** The command that signs a server certificate with `ca` into `dir` (server.pem, server-key.pem) and marks it. */
export function signInto(dir: string, o: { datacenter: string; node: string; caCert: string; caKey: string; hostAddress?: string; generation: number }): string {
  const out = `${o.datacenter}-server-consul-0`;
  return [
    `t=$(mktemp -d) && cd $t`,
    `consul tls cert create -server -dc ${o.datacenter} -node ${o.node} -ca ${o.caCert} -key ${o.caKey}`
      + (o.hostAddress ? ` -additional-ipaddress ${o.hostAddress}` : '') + ' >/dev/null',
    `mv ${out}-key.pem ${dir}/server-key.pem`,
    `mv ${out}.pem ${dir}/server.pem`,
    `echo ${issuedMark(o.caCert, o.generation)} > ${dir}/issued`,
    'cd / && rm -rf $t',
  ].join(' && ');
}

/**
 * Signs a server certificate for `node` into a volume of its own (`Tls`):
 * from the CA's volume, or from the supplied CA, whose key is uploaded to the
 * signing container and deleted by it once used.
 */
export function issueServerCertificate(scope: Construct, engine: StackEngine, options: {
  readonly ca: CertificateAuthority;
  readonly datacenter: string;
  readonly node: string;
  readonly base: string;
  readonly image: string;
  /** An address other hosts reach the server at (its host's), named in the certificate. */
  readonly hostAddress?: string;
  /** The certificates' generation (tls-rotation.ts), marked on the certificate. */
  readonly generation: number;
}): { volume: Volume; issued: Container } {
  const { ca } = options;
  const volume = new Volume(scope, 'Tls', { provider: engine.provider, name: `${options.base}-tls` });
  const { cert: caCert, key: caKey } = caFiles(ca);
  const sign = signInto(TLS_DIR, { datacenter: options.datacenter, node: options.node, caCert, caKey, hostAddress: options.hostAddress, generation: options.generation })
    + ` && cp ${caCert} ${TLS_DIR}/ca.pem`;
  // Idempotent: an existing certificate is kept across re-applies.
  const issue = `test -f ${TLS_DIR}/server.pem || (${sign})`;
  const issued = engine.oneShot(scope, 'IssueCertificate', {
    name: `${options.base}-issue-cert`,
    image: engine.image(options.image).imageId,
    entrypoint: ['/bin/sh', '-c'],
    ...(ca.kind === 'volume' ? {
      command: [issue],
      volumes: [
        { volumeName: ca.caVolume.name, containerPath: '/ca', readOnly: true },
        { volumeName: volume.name, containerPath: TLS_DIR },
      ],
      dependsOn: [ca.caReady],
    } : {
      // The key is removed whatever the outcome, so the stopped container keeps no copy.
      command: [`${issue}; status=$?; rm -f ${caKey}; exit $status`],
      upload: [{ file: caCert, content: ca.certificate }, { file: caKey, content: ca.privateKey }],
      volumes: [{ volumeName: volume.name, containerPath: TLS_DIR }],
    }),
  });
  return { volume, issued };
}
