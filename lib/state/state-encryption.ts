import { Construct } from 'constructs';
import { invalidInput } from '../internal/errors';
import { TerraformStack, TerraformVariable } from '../internal/tf';

/** Props of `StateEncryption`. */
export interface StateEncryptionProps {
  /**
   * Name of the sensitive variable that carries the passphrase (at least 16
   * characters): set it as `TF_VAR_<name>` where OpenTofu runs. Stacks that
   * read each other's outputs (remote state) must share it.
   * @default "state_passphrase"
   */
  readonly passphraseVariable?: string;

  /**
   * Read state (and remote state) that is still plaintext, and write it back
   * encrypted: for stacks deployed before encryption was added. Remove it
   * once every state has been written again (one apply each).
   * @default false
   */
  readonly migrateFromPlaintext?: boolean;

  /**
   * PBKDF2-HMAC-SHA512 iterations that derive the key from the passphrase.
   * OpenTofu derives a key several times per command (once per target it
   * encrypts, once per file it reads), so each iteration count is paid many
   * times over: OpenTofu's own default, 600,000 (the OWASP figure for
   * SHA-256), costs a plan of an empty stack 2.1 s of CPU, 210,000 0.8 s.
   * States written with another count stay readable (the count is stored
   * beside each file's salt). OpenTofu refuses fewer than 200,000.
   * @default 210000 (OWASP's recommendation for PBKDF2-HMAC-SHA512)
   */
  readonly keyDerivationIterations?: number;
}

/** What OWASP's password storage cheat sheet recommends for PBKDF2-HMAC-SHA512, OpenTofu's hash. */
const OWASP_SHA512_ITERATIONS = 210_000;
/** Below this, OpenTofu refuses to derive a key. */
const OPENTOFU_MINIMUM_ITERATIONS = 200_000;

const NAME = /^[a-z][a-z0-9_]*$/;

/**
 * OpenTofu's client-side encryption of its stack's state and plan files
 * (`terraform { encryption { ... } }`): AES-GCM with a key derived (PBKDF2,
 * SHA-512) from a passphrase in a sensitive variable, enforced for state and plans,
 * and the same method for the remote state of other stacks the stack reads.
 * Tokens, keys and secret IDs the providers keep in state are then
 * unreadable at rest without the passphrase, in a local file or any backend.
 *
 * OpenTofu 1.8 or later only: Terraform refuses the `encryption` block
 * ("Unsupported block type"). With Terraform, leave this construct out and
 * keep state in a backend that encrypts at rest and controls who reads it.
 *
 * Losing the passphrase loses the state (the resources stay, unmanaged):
 * keep it as you keep the management token. One per stack.
 */
export class StateEncryption extends Construct {
  /** The sensitive variable that carries the passphrase. */
  public readonly passphrase: TerraformVariable;
  /** Its name: where OpenTofu runs, set `TF_VAR_<name>`. */
  public readonly passphraseVariable: string;

  constructor(scope: Construct, id: string, props: StateEncryptionProps = {}) {
    super(scope, id);
    const stack = TerraformStack.of(this);
    const name = props.passphraseVariable ?? 'state_passphrase';
    if (!NAME.test(name)) {
      throw invalidInput(this, 'passphraseVariable must be a variable name: lowercase letters, digits and underscores, starting with a letter', name,
        'Use e.g. "state_passphrase" (set it as TF_VAR_state_passphrase).');
    }
    const first = stack.node.tryFindChild(STATE_ENCRYPTION_MARK);
    if (first !== undefined) {
      throw invalidInput(this, `stack ${stack.node.id} is already encrypted by ${(first as Marker).owner.node.path}`, id,
        'Add one StateEncryption per stack.');
    }
    const iterations = props.keyDerivationIterations ?? OWASP_SHA512_ITERATIONS;
    if (!Number.isInteger(iterations) || iterations < OPENTOFU_MINIMUM_ITERATIONS) {
      throw invalidInput(this, `keyDerivationIterations must be a whole number of at least ${OPENTOFU_MINIMUM_ITERATIONS} (OpenTofu refuses fewer)`, iterations,
        `Leave it unset for ${OWASP_SHA512_ITERATIONS}, OWASP's recommendation for PBKDF2-HMAC-SHA512, or give a larger whole number.`);
    }
    new Marker(stack, this);
    this.passphraseVariable = name;
    this.passphrase = new TerraformVariable(this, 'Passphrase', {
      type: 'string',
      sensitive: true,
      description: `Passphrase of the state and plan encryption of stack ${stack.node.id} (at least 16 characters)`,
    });
    this.passphrase.overrideLogicalId(name);

    // OpenTofu reads a method reference as a bare traversal, not a template.
    const method = 'method.aes_gcm.state';
    const fallback = props.migrateFromPlaintext ? { fallback: { method: 'method.unencrypted.plaintext' } } : {};
    stack.addOverride('terraform.encryption', {
      key_provider: { pbkdf2: { state: { passphrase: `\${var.${name}}`, iterations } } },
      method: {
        aes_gcm: { state: { keys: '${key_provider.pbkdf2.state}' } },
        ...(props.migrateFromPlaintext ? { unencrypted: { plaintext: {} } } : {}),
      },
      state: { method, enforced: !props.migrateFromPlaintext, ...fallback },
      plan: { method, enforced: !props.migrateFromPlaintext, ...fallback },
      remote_state_data_sources: { default: { method, ...fallback } },
    });
  }
}

const STATE_ENCRYPTION_MARK = 'ConsulMeshStateEncryption';

/** Marks a stack as encrypted (a second StateEncryption would override the first). */
class Marker extends Construct {
  constructor(stack: TerraformStack, public readonly owner: StateEncryption) {
    super(stack, STATE_ENCRYPTION_MARK);
  }
}
