// What the day-2 suites share: one deployment changed many times on an
// engine of the suite's own, each change deployed under a probe
// (test/support/probe.ts), and the figures printed at the end.
import * as fs from 'fs';
import { AppDeployment } from './docker-deployment';
import { DockerEngine } from './docker-engine';
import { Probe, ProbeFigures } from './probe';

export class ChangeRun {
  /** The deployment as last applied: destroyed at the end. */
  public deployed?: AppDeployment;
  /** Every synth of it: their workspaces are removed at the end. */
  private readonly made: AppDeployment[] = [];
  private readonly figures: string[] = [];

  constructor(private readonly engine: () => DockerEngine | undefined, private readonly work: string, private readonly title: string) {}

  /** Keeps `deployment`'s workspace for removal at the end. */
  public track(deployment: AppDeployment): AppDeployment {
    this.made.push(deployment);
    return deployment;
  }

  /** Deploys `next` while `probe` runs (3 s of it before and after); returns what the probe saw, and keeps its figures under `label`. */
  public async deployUnderProbe(label: string, probe: Probe, next: () => AppDeployment): Promise<ProbeFigures[]> {
    let seconds: number;
    let deployment: AppDeployment;
    try {
      await new Promise((r) => setTimeout(r, 3000));
      deployment = next();
      await deployment.init();
      const started = Date.now();
      await deployment.apply();
      seconds = (Date.now() - started) / 1000;
      await new Promise((r) => setTimeout(r, 3000));
    } catch (e) {
      // A failed deploy stops the probe too: a probe left running keeps the test process alive.
      await probe.stop().catch(() => undefined);
      throw e;
    }
    const probed = await probe.stop();
    this.deployed = deployment;
    for (const f of probed) {
      this.figures.push(`${label} ${f.datacenter}: deploy ${seconds.toFixed(1)}s, reads ${f.reads} failed ${f.failedReads} (${f.failedReadsPercent}%), `
        + `longest without a leader ${(f.longestLeaderlessMs / 1000).toFixed(1)}s, writes ${f.writes} acknowledged ${f.acknowledgedWrites} lost ${f.lostWrites}`);
    }
    return probed;
  }

  /** Destroys what is deployed, stops the engine, removes every workspace, and prints the figures. */
  public async finish(): Promise<void> {
    try {
      if (this.deployed) await this.deployed.destroy().catch(() => this.deployed!.clearEngine());
    } finally {
      await this.engine()?.stop();
      this.made.forEach((d) => d.remove());
      fs.rmSync(this.work, { recursive: true, force: true });
      if (this.figures.length > 0) process.stderr.write(`${this.title}:\n  ${this.figures.join('\n  ')}\n`);
    }
  }
}

/** The one token described as `description`, read with `get` (a management-token GET in the primary): its accessor and secret. */
export function tokenOf(get: (path: string) => any, description: string): { accessor: string; secret: string } {
  const found = (get('/v1/acl/tokens') as any[]).filter((t) => t.Description === description);
  if (found.length !== 1) throw new Error(`${found.length} tokens described as "${description}", not 1`);
  return { accessor: found[0].AccessorID, secret: get(`/v1/acl/token/${found[0].AccessorID}`).SecretID };
}

/** Each keyring pool of the federation (`/v1/operator/keyring`) as `[pool, members]`, where every member holds `key` alone, as its primary key. */
export function poolsOnlyOn(pools: any[], key: string): [string, number][] {
  return pools.map((p): [string, number] => {
    const only = { [key]: p.NumNodes };
    const ok = JSON.stringify(p.Keys) === JSON.stringify(only) && JSON.stringify(p.PrimaryKeys) === JSON.stringify(only);
    return [`${p.WAN ? 'WAN' : `${p.Datacenter} LAN`}${ok ? '' : ` holds ${Object.keys(p.Keys).length} keys`}`, p.NumNodes];
  }).sort();
}

/** When each of the containers `names` last started: a change that restarts none leaves these as they were. */
export function startedAt(engine: DockerEngine, names: string[]): Promise<string[]> {
  return Promise.all(names.map((name) => engine.mustDocker(['inspect', '--format', '{{.State.StartedAt}}', name])));
}
