import { DefaultTokenResolver, Fn, StringConcat, TerraformStack, TerraformVariable, Token, Tokenization } from './tf';
import { Construct, IConstruct } from 'constructs';
import { invalidInput } from './errors';

const UUID = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
// 32 random bytes in standard base64: 43 characters and one pad.
const GOSSIP_KEY = '^[A-Za-z0-9+/]{43}=$';

/** Terraform variable names allow letters, digits, `_` and `-`. */
export function variablePrefix(scope: IConstruct): string {
  return scope.node.id.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** A sensitive variable for an ACL token secret (a UUID), e.g. TF_VAR_fed_management_token. */
export function tokenVariable(scope: Construct, name: string, description: string): TerraformVariable {
  return sensitive(scope, name, description, UUID, 'must be a UUID, e.g. the output of `uuidgen`.');
}

/** A sensitive variable for a gossip encryption key, e.g. TF_VAR_fed_gossip_key. */
export function gossipKeyVariable(scope: Construct, name: string): TerraformVariable {
  return sensitive(scope, name, 'Consul gossip encryption key shared by every datacenter (32 bytes, base64)',
    GOSSIP_KEY, 'must be 32 bytes in base64, e.g. the output of `consul keygen`.');
}

/** The library's own secret variables: they validate their format themselves. */
const selfValidating = new WeakSet<TerraformVariable>();

/**
 * `lifecycle.precondition`s checking, at plan time, the format of secrets the
 * user passed in (their variables carry no validation of ours): a malformed
 * token or key fails the plan before anything changes, without showing it.
 */
export function secretFormatPreconditions(scope: IConstruct, secrets: { managementToken?: string; gossipKey?: string }): { condition: unknown; errorMessage: string }[] {
  const checks: [string | undefined, string, string, string][] = [
    [secrets.managementToken, UUID, 'management token', 'must be a UUID, e.g. the output of uuidgen'],
    [secrets.gossipKey, GOSSIP_KEY, 'gossip key', 'must be 32 bytes in base64, e.g. the output of consul keygen'],
  ];
  return checks
    .filter(([value]) => value !== undefined && !isSelfValidating(scope, value))
    .map(([value, pattern, what, rule]) => ({ condition: Fn.can(Fn.regex(pattern, value!)), errorMessage: `The ${what} of ${scope.node.path} ${rule}.` }));
}

function isSelfValidating(scope: IConstruct, value: string): boolean {
  const variable = variableBehind(scope, value);
  return variable !== undefined && selfValidating.has(variable);
}

function sensitive(scope: Construct, name: string, description: string, pattern: string, hint: string): TerraformVariable {
  const variable = new TerraformVariable(scope, name, {
    type: 'string',
    sensitive: true,
    nullable: false,
    description,
    validation: [{
      condition: `\${can(regex("${pattern}", var.${`${variablePrefix(scope)}_${name}`}))}`,
      errorMessage: `${variablePrefix(scope)}_${name} ${hint}`,
    }],
  });
  variable.overrideLogicalId(`${variablePrefix(scope)}_${name}`);
  selfValidating.add(variable);
  return variable;
}

/**
 * Secrets must reach cdk.tf.json as references (a variable, a data source),
 * never as literal text: a literal here would be written in plaintext.
 */
export function requireReference(scope: IConstruct, prop: string, value: string): string {
  if (!Token.isUnresolved(value)) {
    throw invalidInput(scope, `${prop} is a literal and would be written in plaintext to cdk.tf.json`, '<redacted literal>',
      `Pass a reference instead, e.g. a sensitive TerraformVariable's .stringValue or a data source attribute.`);
  }
  const variable = variableBehind(scope, value);
  if (variable?.default !== undefined) {
    throw invalidInput(scope, `${prop} comes from variable "${variable.friendlyUniqueId}", which has a default value: it would be written in plaintext to cdk.tf.json`,
      '<redacted default>', `Remove the default and pass the value as TF_VAR_${variable.friendlyUniqueId}.`);
  }
  if (variable && variable.sensitive !== true) {
    throw invalidInput(scope, `${prop} comes from variable "${variable.friendlyUniqueId}", which is not sensitive: plans and logs would show it`,
      false, 'Declare the variable with sensitive: true.');
  }
  return value;
}

/** The stack's variable a reference is exactly, if it is one (`${var.x}`). */
function variableBehind(scope: IConstruct, value: string): TerraformVariable | undefined {
  const stack = TerraformStack.of(scope);
  let resolved: unknown;
  try {
    resolved = Tokenization.resolve(value, { scope, resolver: new DefaultTokenResolver(new StringConcat()) });
  } catch {
    return undefined; // e.g. a reference to another stack, resolved only at app synth
  }
  const name = typeof resolved === 'string' ? /^\$\{var\.([A-Za-z0-9_-]+)\}$/.exec(resolved)?.[1] : undefined;
  if (name === undefined) return undefined;
  return stack.node.findAll().find((c): c is TerraformVariable => c instanceof TerraformVariable && c.friendlyUniqueId === name);
}

/**
 * The stacks whose objects `value` references directly (a variable, a
 * resource or data source attribute): where Terraform will read it from.
 */
export function stacksReferencedBy(value: unknown): TerraformStack[] {
  if (typeof value !== 'string' || !Token.isUnresolved(value)) return [];
  const stacks = Tokenization.reverseString(value).tokens
    .map((token) => (token as { originStack?: unknown }).originStack)
    .filter((stack): stack is TerraformStack => stack instanceof TerraformStack);
  return [...new Set(stacks)];
}
