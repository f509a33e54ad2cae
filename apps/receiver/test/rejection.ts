import { expect } from 'vitest';
import { HttpProblem } from '../src/errors.ts';

/** What `promise` rejected with; undefined when it resolved. */
export function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
}

/** The HttpProblem `promise` rejected with; the test fails when it resolved or threw anything else. */
export async function refusalOf(promise: Promise<unknown>): Promise<HttpProblem> {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(HttpProblem);
  return error as HttpProblem;
}
