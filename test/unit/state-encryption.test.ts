import { TerraformStack } from 'cdktf';
import { newStack, synthJson } from '../support/synth';
import { StateEncryption } from '../../lib';

describe('StateEncryption', () => {
  test('encrypts state and plans with AES-GCM from a passphrase variable, enforced, and reads remote state the same way', () => {
    const stack = newStack();
    const encryption = new StateEncryption(stack, 'encryption');
    const json = synthJson(stack);
    expect(json.variable.state_passphrase).toEqual({ type: 'string', sensitive: true, description: expect.stringContaining('at least 16 characters') });
    expect(encryption.passphraseVariable).toBe('state_passphrase');
    expect(json.terraform.encryption).toEqual({
      key_provider: { pbkdf2: { state: { passphrase: '${var.state_passphrase}', iterations: 210_000 } } },
      method: { aes_gcm: { state: { keys: '${key_provider.pbkdf2.state}' } } },
      state: { method: 'method.aes_gcm.state', enforced: true },
      plan: { method: 'method.aes_gcm.state', enforced: true },
      remote_state_data_sources: { default: { method: 'method.aes_gcm.state' } },
    });
  });

  test('migrating from plaintext reads plaintext as a fallback and does not enforce', () => {
    const stack = newStack();
    new StateEncryption(stack, 'encryption', { passphraseVariable: 'team_passphrase', migrateFromPlaintext: true });
    const { encryption } = synthJson(stack).terraform;
    expect(encryption.key_provider.pbkdf2.state.passphrase).toBe('${var.team_passphrase}');
    expect(encryption.method.unencrypted).toEqual({ plaintext: {} });
    expect(encryption.state).toEqual({ method: 'method.aes_gcm.state', enforced: false, fallback: { method: 'method.unencrypted.plaintext' } });
    expect(encryption.remote_state_data_sources.default.fallback).toEqual({ method: 'method.unencrypted.plaintext' });
  });

  test('rejects a second one in a stack and a variable name OpenTofu would not take, naming the path', () => {
    const stack = newStack();
    new StateEncryption(stack, 'first');
    expect(() => new StateEncryption(stack, 'second')).toThrow(/^test\/second: stack test is already encrypted by test\/first \(got: "second"\)\. Add one StateEncryption per stack\./);
    const other = new TerraformStack(stack.node.root, 'other');
    expect(() => new StateEncryption(other, 'enc', { passphraseVariable: 'State-Passphrase' }))
      .toThrow(/^other\/enc: passphraseVariable must be a variable name.*\(got: "State-Passphrase"\)/);
    const third = new TerraformStack(stack.node.root, 'third');
    expect(() => new StateEncryption(third, 'enc', { keyDerivationIterations: 100_000 }))
      .toThrow(/^third\/enc: keyDerivationIterations must be a whole number of at least 200000 \(OpenTofu refuses fewer\) \(got: 100000\)\. Leave it unset for 210000/);
  });

  test('takes a larger key derivation count, which OpenTofu stores beside each file it writes', () => {
    const stack = newStack();
    new StateEncryption(stack, 'encryption', { keyDerivationIterations: 600_000 });
    expect(synthJson(stack).terraform.encryption.key_provider.pbkdf2.state).toEqual({ passphrase: '${var.state_passphrase}', iterations: 600_000 });
  });
});
