import { Construct } from 'constructs';
import { DockerRuntime } from './runtime';
import { TLS_DIR } from '../../internal/agent-config';
import { Container, Volume } from '../../internal/providers';
import { ITerraformDependable } from '../../internal/tf';

/** The servers' CA: a volume holding it, and the step that created it. */
export interface CertificateAuthority {
  readonly caVolume: Volume;
  readonly caReady: ITerraformDependable;
}

/**
 * Creates the servers' CA inside a Docker volume with `consul tls ca create`,
 * so its key never passes through Terraform state.
 */
export function createCertificateAuthority(scope: Construct, runtime: DockerRuntime, prefix: string, image: string): CertificateAuthority {
  const caVolume = new Volume(scope, 'CaVolume', { provider: runtime.provider, name: `${prefix}-ca` });
  const caReady = runtime.oneShot(scope, 'CreateCa', {
    name: `${prefix}-create-ca`,
    image: runtime.image(image).imageId,
    entrypoint: ['/bin/sh', '-c'],
    command: ['cd /ca && (test -f consul-agent-ca.pem || consul tls ca create)'],
    volumes: [{ volumeName: caVolume.name, containerPath: '/ca' }],
  });
  return { caVolume, caReady };
}

/** Signs a server certificate for `node` into a volume of its own (`Tls`), from the CA's volume. */
export function issueServerCertificate(scope: Construct, runtime: DockerRuntime, options: {
  readonly ca: CertificateAuthority;
  readonly datacenter: string;
  readonly node: string;
  readonly base: string;
  readonly image: string;
}): { volume: Volume; issued: Container } {
  const volume = new Volume(scope, 'Tls', { provider: runtime.provider, name: `${options.base}-tls` });
  const out = `${options.datacenter}-server-consul-0`;
  const issued = runtime.oneShot(scope, 'IssueCertificate', {
    name: `${options.base}-issue-cert`,
    image: runtime.image(options.image).imageId,
    entrypoint: ['/bin/sh', '-c'],
    // Idempotent: an existing certificate is kept across re-applies.
    command: [`test -f ${TLS_DIR}/server.pem || (${[
      'cd /tmp',
      `consul tls cert create -server -dc ${options.datacenter} -node ${options.node} -ca /ca/consul-agent-ca.pem -key /ca/consul-agent-ca-key.pem`,
      `cp /ca/consul-agent-ca.pem ${TLS_DIR}/ca.pem`,
      `mv ${out}-key.pem ${TLS_DIR}/server-key.pem`,
      `mv ${out}.pem ${TLS_DIR}/server.pem`,
    ].join(' && ')})`],
    volumes: [
      { volumeName: options.ca.caVolume.name, containerPath: '/ca', readOnly: true },
      { volumeName: volume.name, containerPath: TLS_DIR },
    ],
    dependsOn: [options.ca.caReady],
  });
  return { volume, issued };
}
