// Rotating an ACL token by one prop: its generation. Each generation is a
// token resource of its own (`<id>`, then `<id>Generation2`, ...), so a new
// generation creates a new token and everything that reads its secret (an
// agent's hand-over, a gateway's registration) is recreated with it. The old
// token must outlive those hand-overs, which Terraform cannot order:
// create_before_destroy would spread to everything the token waits on (the
// servers' steps and containers, whose fixed names a second copy cannot
// take), and a plain delete of the old resource runs beside the new
// hand-overs, not after them. So the earlier generations are forgotten by
// OpenTofu (`removed`, destroy = false) and deleted by the runtime once the
// hand-overs are done (`DatacenterRuntime.retireTokens`). Without such a
// runtime (a datacenter the operator runs), OpenTofu deletes the old token.
import { Construct, IConstruct } from 'constructs';
import { invalidInput } from './errors';
import { Lazy, TerraformStack } from './tf';

/** A generation, checked: a whole number of at least 1 (1 when not given). */
export function checkGeneration(owner: IConstruct, prop: string, generation: number | undefined): number {
  const value = generation ?? 1;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw invalidInput(owner, `${prop} must be a whole number of at least 1`, generation,
      `Use ${prop}: 1 (the default), and add one to rotate.`);
  }
  return value;
}

/** The construct id of generation `generation` of the token `base`: the first keeps the id tokens had before generations. */
export function generationId(base: string, generation: number): string {
  return generation === 1 ? base : `${base}Generation${generation}`;
}

const FORGOTTEN = new WeakMap<TerraformStack, string[]>();

/**
 * Tells OpenTofu to forget, not destroy, the `consul_acl_token` resources of
 * every generation of `base` in `scope` before `generation` (a no-op for one
 * it never had): the runtime deletes them after the hand-overs.
 */
export function forgetEarlierGenerations(scope: Construct, base: string, generation: number): void {
  const stack = TerraformStack.of(scope);
  let addresses = FORGOTTEN.get(stack);
  if (addresses === undefined) {
    const list: string[] = [];
    addresses = list;
    FORGOTTEN.set(stack, list);
    stack.addOverride('removed', Lazy.anyValue({ produce: () => list.map((from) => ({ from, lifecycle: { destroy: false } })) }));
  }
  for (let k = 1; k < generation; k++) {
    // Where that generation's resource was: its address is derived from its path, as cdktf derives every resource's.
    const earlier = new Construct(scope, generationId(base, k));
    addresses.push(`consul_acl_token.${stack.getLogicalId(earlier.node)}`);
  }
}
