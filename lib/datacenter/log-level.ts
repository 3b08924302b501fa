/** How much a Consul agent logs (`log_level`). */
export enum LogLevel {
  /** Everything, including each RPC. */
  TRACE = 'TRACE',
  /** Detail for diagnosing a problem. */
  DEBUG = 'DEBUG',
  /** Consul's default. */
  INFO = 'INFO',
  /** Only what may need attention. */
  WARN = 'WARN',
  /** Only failures. */
  ERROR = 'ERROR',
}
