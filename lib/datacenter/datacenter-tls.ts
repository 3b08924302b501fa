/**
 * The certificate authority a datacenter's servers get their certificates
 * from. Give every datacenter of a federation the same one: servers verify
 * each other's certificates against it.
 *
 * With it, servers verify both ends of every RPC and the server hostname
 * (`server.<dc>.consul`), the HTTP API is served over HTTPS, and the
 * library's `consul` providers verify the API's certificate against it.
 * Create one with `consul tls ca create`.
 */
export interface DatacenterTls {
  /** The CA certificate (PEM). Public: it may be a literal. */
  readonly caCertificate: string;

  /**
   * The CA's private key (PEM), as a reference: a sensitive variable or a
   * data source attribute, never a literal. It reaches only the one-shot
   * container that signs the servers' certificates, which deletes it.
   */
  readonly caPrivateKey: string;

  /**
   * During a CA rotation, the CA being replaced: the library's providers
   * trust it besides `caCertificate` until the servers present certificates
   * of the new one (they still present the old one when the plan starts).
   * Remove it after the rotation's deploy.
   * @default - the providers trust `caCertificate` alone
   */
  readonly previousCaCertificate?: string;
}
