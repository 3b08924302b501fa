import { IConstruct } from 'constructs';

/**
 * The library's one error shape: where (construct path), what was received,
 * and how to fix it. Thrown before anything is written.
 */
export function invalidInput(scope: IConstruct, problem: string, received: unknown, fix: string): Error {
  return new Error(`${scope.node.path}: ${problem} (got: ${show(received)}). ${fix}`);
}

/**
 * Same text as `invalidInput`, as a plan-time `error_message`: `problem` and
 * `received` are Terraform templates (`${...}` interpolates values known at
 * plan), so `received` is written as given.
 */
export function invalidInputAtPlan(scope: IConstruct, problem: string, received: string, fix: string): string {
  return `${scope.node.path}: ${problem} (got: ${received}). ${fix}`;
}

/** Same text as `invalidInput`, for `node.addValidation` results. */
export function validationMessage(problem: string, received: unknown, fix: string): string {
  return `${problem} (got: ${show(received)}). ${fix}`;
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'nothing';
  // JSON would print NaN and the infinities as null.
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return JSON.stringify(value) ?? String(value);
}
