/** How the `consul` provider talks to a datacenter's HTTP API. */
export enum ApiScheme {
  /** Plain HTTP. */
  HTTP = 'http',
  /** HTTPS; set `caFile` unless the system trusts the server's certificate. */
  HTTPS = 'https',
}
