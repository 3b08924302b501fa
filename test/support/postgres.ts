// A PostgreSQL server of the test's own: Debian's package (installed on first
// use), a cluster in a temp directory owned by the `postgres` user (the
// server refuses to run as root), listening on a free loopback port and a
// unix socket in that directory, stopped by its pid.
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { aptInstall } from './docker-engine';

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return undefined;
  const versions = fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? path.join(root, versions[0], 'bin') : undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** setpriv execs (no intermediate process): the server is this process's child, and dies with it. */
const asPostgres = (argv: string[]) => ['--reuid=postgres', '--regid=postgres', '--init-groups', '--pdeathsig', 'TERM', '--', ...argv];

export class Postgres {
  /** Starts a server with a database `terraform` that local connections reach without a password. */
  public static async start(): Promise<Postgres> {
    aptInstall('postgresql', () => binDir() !== undefined);
    const bin = binDir()!;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cmesh-pg-'));
    fs.chmodSync(dir, 0o755);
    const data = path.join(dir, 'data');
    fs.mkdirSync(data);
    spawnSync('chown', ['-R', 'postgres:postgres', dir]);
    const init = spawnSync('setpriv', asPostgres([path.join(bin, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']), { encoding: 'utf8' });
    if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
    const port = await freePort();
    const log = fs.openSync(path.join(dir, 'postgres.log'), 'a');
    const argv = asPostgres([path.join(bin, 'postgres'), '-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1',
      '-c', `unix_socket_directories=${dir}`, '-c', 'fsync=off']);
    const server = spawn('setpriv', argv, { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    const pg = new Postgres(dir, port, server, bin);
    for (let i = 0; i < 100; i++) {
      if (pg.psql('postgres', 'SELECT 1').status === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const created = pg.psql('postgres', 'CREATE DATABASE terraform');
    if (created.status !== 0) throw new Error(`postgres did not start: ${created.stderr}\n${fs.readFileSync(path.join(dir, 'postgres.log'), 'utf8')}`);
    return pg;
  }

  private constructor(public readonly dir: string, public readonly port: number, private readonly server: ChildProcess, private readonly bin: string) {}

  /** The `conn_str` of the `pg` backend, over TCP on loopback. */
  public get connStr(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/terraform?sslmode=disable`;
  }

  /** The same over the unix socket: reachable from another network namespace (an engine's), which has a loopback of its own. */
  public get socketConnStr(): string {
    return `postgres://postgres@/terraform?host=${encodeURIComponent(this.dir)}&port=${this.port}&sslmode=disable`;
  }

  /** Runs SQL through psql on the unix socket; stdout is unaligned, tuples only. */
  public psql(database: string, sql: string): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(path.join(this.bin, 'psql'), ['-h', this.dir, '-p', String(this.port), '-U', 'postgres', '-d', database, '-Atc', sql], { encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** Stops the server by its pid and removes its directory. */
  public async stop(): Promise<void> {
    if (this.server.exitCode === null) {
      const exited = new Promise((r) => this.server.once('exit', r));
      // Fast shutdown: sessions a killed apply left are ended.
      this.server.kill('SIGINT');
      await exited;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
