// Refusing a shrink that would lose a datacenter's quorum, at plan, before
// anything changes.
//
// Servers a deploy removes are killed together (Terraform destroys removed
// resources side by side, and orders no destroy after a create), so a
// datacenter of P servers can lose at most floor((P - 1) / 2) of them in one
// deploy: 5 -> 3 keeps a majority, 3 -> 1 and 5 -> 1 do not. Synth cannot
// know P (it is what was deployed), and the live datacenter cannot be read
// at plan without failing when it is down, which is when a re-apply must
// still converge. So each datacenter records its server count as an output
// of its servers' stack, and the next plan reads it back from the stack's
// own state (a `terraform_remote_state` of itself, through the state
// encryption's remote-state key) and fails a precondition naming the
// datacenter, both counts and what to deploy instead.
//
// Only a local backend's state can be looked for before it is read (the
// data source fails on a state that does not exist yet, i.e. every first
// deploy): with another backend, or a workspace other than the default one,
// the shrink is not refused. The state file is read whole at each plan.
import { join } from 'path';
import { Construct } from 'constructs';
import { invalidInputAtPlan } from '../internal/errors';
import { FinalizePass } from '../internal/finalize-pass';
import { checkAtPlan } from '../internal/plan-checks';
import { DataTerraformRemoteStateLocal, LocalBackend, TerraformLocal, TerraformOutput, TerraformStack } from '../internal/tf';

/** What the guard needs of a datacenter. */
export interface ServerRemovalGuardProps {
  /** The datacenter's construct: errors name its path. */
  readonly datacenter: Construct;
  /** `<prefix>-<name>`: the recorded output is named after it. */
  readonly baseName: string;
  /** The server count being deployed. */
  readonly servers: number;
  /** The container of the server a shrink to 1 keeps (for the steps to take instead). */
  readonly keptServer: string;
  /** Deploy a shrink anyway: the servers it removes have left the peer set already. */
  readonly allowed: boolean;
}

/** A datacenter of `servers` keeps a majority when it loses this many at once. */
export function tolerance(servers: number): number {
  return Math.floor((servers - 1) / 2);
}

/**
 * Records the datacenter's server count in its servers' stack (`scope`'s)
 * and, where the stack's state can be read back, refuses at plan a deploy
 * that removes more servers at once than the recorded count tolerates.
 */
export function guardServerRemoval(scope: Construct, props: ServerRemovalGuardProps): void {
  const site = new Construct(scope, 'ServerRemovalGuard');
  const output = new TerraformOutput(site, 'Servers', {
    value: props.servers,
    description: `Servers of ${props.baseName}, read back by the next plan to refuse a shrink that loses the quorum`,
  });
  output.overrideLogicalId(`${props.baseName}-servers`);
  // Only a target some larger count cannot reach safely needs the check: 1 and 3, not 5 (from 7) or 7.
  const refusable = [3, 5, 7].some((p) => p > props.servers && p - props.servers > tolerance(p));
  if (props.allowed || !refusable) return;
  // The stack's backend is known only once the user's code has run.
  let done = false;
  FinalizePass.of(site).add({
    _finalize: () => {
      if (done) return;
      done = true;
      const previous = previousDeploy(site);
      if (previous === undefined) return;
      const deployed = new TerraformLocal(site, 'Deployed', `\${try(tonumber(${previous}[0].outputs[${JSON.stringify(`${props.baseName}-servers`)}]), ${props.servers})}`);
      deployed.overrideLogicalId(`${props.baseName}-deployed-servers`);
      const p = `local.${props.baseName}-deployed-servers`;
      const n = props.servers;
      checkAtPlan(site, `\${${p} - ${n} <= floor((${p} - 1) / 2)}`, invalidInputAtPlan(props.datacenter,
        `servers \${${p}} -> ${n} removes \${${p} - ${n}} at once, more than the \${floor((${p} - 1) / 2)} a datacenter of \${${p}} can lose: it would lose its quorum`,
        `{"servers":${n},"deployed":\${${p}}}`,
        stepsInstead(props)));
    },
  });
}

/** What to do instead of a shrink that loses the quorum, to `props.servers` (3 or 1: 7 -> 5 and 5 -> 3 keep a majority). */
function stepsInstead(props: ServerRemovalGuardProps): string {
  if (props.servers >= 3) return 'Deploy 5 servers first (7 -> 5 keeps a majority), then 3.';
  // No count below 3 is reached by killing servers: the others must leave first, gracefully.
  return 'A datacenter goes below 3 servers only once the servers to remove have left the peer set: for each server but '
    + `${props.keptServer}, one at a time, run \`docker update --restart=no <name>\` and \`docker exec <name> consul leave\`, `
    + 'then deploy with allowUnsafeServerRemoval: true.';
}

const PREVIOUS = new WeakMap<TerraformStack, string | undefined>();

/**
 * `data.terraform_remote_state.<id>` reading `scope`'s stack's own state, one
 * per stack, present (count 1) only when that state exists; undefined when
 * the state cannot be looked for (not a local backend).
 */
function previousDeploy(scope: Construct): string | undefined {
  const stack = TerraformStack.of(scope);
  if (PREVIOUS.has(stack)) return PREVIOUS.get(stack);
  // The backend is looked up, not created (ensureBackendExists() would write cdktf's default backend into a
  // stack synthesized without one, by Testing.synth, and move its state next to the process). Without one,
  // cdktf's synth adds a local backend at this path.
  const backend = stack.node.tryFindChild('backend');
  const path = backend === undefined ? join(process.cwd(), `terraform.${stack.node.id}.tfstate`)
    : backend instanceof LocalBackend ? (backend.toTerraform() as { terraform: { backend: { local: { path: string } } } }).terraform.backend.local.path
      : undefined;
  let address: string | undefined;
  if (path !== undefined) {
    const data = new DataTerraformRemoteStateLocal(stack, 'cdktf-consul-mesh-previous-deploy', { path, workspace: '${terraform.workspace}' });
    data.overrideLogicalId('cdktf-consul-mesh-previous-deploy');
    // Read only when there is a state to read: the data source fails on a first deploy otherwise. Not
    // fileexists(): the plan runs under the state's lock, which creates the file, empty, on a first deploy.
    data.addOverride('count', `\${terraform.workspace == "default" && length(try(file(${JSON.stringify(path)}), "")) > 0 ? 1 : 0}`);
    address = `data.terraform_remote_state.${data.friendlyUniqueId}`;
  }
  PREVIOUS.set(stack, address);
  return address;
}
