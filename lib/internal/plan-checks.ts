import { IConstruct } from 'constructs';
import { Fn, Op, TerraformResource, Token } from './tf';

/** A port from 1 to 65535, or a `[v6]:port` / `host:port` address with one (RE2, as Terraform's regex reads it). */
const PORT = '([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])';
export const HOST_PORT = `^(\\[[0-9A-Fa-f:.]+\\]|[^\\s/:\\[\\]]+):${PORT}$`;

const RESOURCES = new WeakMap<IConstruct, TerraformResource>();

/**
 * Checks a value that arrives as a Terraform reference (a variable, another
 * resource's attribute) when Terraform knows it: a `lifecycle.precondition`
 * of a `terraform_data` resource of `scope`'s own (`<scope>/PlanChecks`),
 * created with the first such value, so `plan` fails naming the construct
 * before anything changes. Literal values are checked at synth instead.
 */
export function checkAtPlan(scope: IConstruct, condition: unknown, errorMessage: string): void {
  let resource = RESOURCES.get(scope);
  if (!resource) {
    // terraform_data is built into Terraform (1.4+) and OpenTofu: no provider to install.
    resource = new TerraformResource(scope as never, 'PlanChecks', { terraformResourceType: 'terraform_data', lifecycle: { precondition: [] } });
    RESOURCES.set(scope, resource);
  }
  resource.lifecycle!.precondition!.push({ condition, errorMessage });
}

/** The Terraform condition that `port` is a TCP port. */
export function portCondition(port: number): unknown {
  return Op.and(Op.and(Op.gte(port, 1), Op.lte(port, 65535)), Op.eq(Fn.floor(port), port));
}

/** The Terraform condition that `address` is `host:port` (or `[v6]:port`). */
export function hostPortCondition(address: string): unknown {
  // The pattern lands in an HCL string, where a backslash escapes: double each.
  return Fn.can(Fn.regex(HOST_PORT.replace(/\\/g, '\\\\'), address));
}

/** A port as text in a string that Terraform interpolates (a reference stays a reference). */
export function portText(port: number): string {
  return Token.isUnresolved(port) ? Token.asString(port) : String(port);
}
