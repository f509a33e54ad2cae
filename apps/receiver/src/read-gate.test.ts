import { describe, expect, it } from 'vitest';
import { HttpProblem } from './errors.ts';
import { Gate } from './routes/jobs.ts';

/** Work that runs until the test lets it end, noting when it started. */
function held(
  started: string[],
  name: string,
): { work: () => Promise<string>; end: () => void; fail: () => void } {
  let end = (): void => undefined;
  let fail = (): void => undefined;
  const ended = new Promise<string>((resolve, reject) => {
    end = () => resolve(name);
    fail = () => reject(new Error(`${name} failed`));
  });
  return {
    work: () => {
      started.push(name);
      return ended;
    },
    end: () => end(),
    fail: () => fail(),
  };
}

/** Lets every promise callback already due run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('the read gate', () => {
  it('runs `limit` at once, the rest in arrival order, each as the one before it ends', async () => {
    const gate = new Gate(2, 10);
    const started: string[] = [];
    const works = ['a', 'b', 'c', 'd'].map((name) => held(started, name));
    const results = works.map((work) => gate.run(work.work));
    await settle();
    expect(started).toEqual(['a', 'b']);
    works[1]?.end();
    await settle();
    expect(started).toEqual(['a', 'b', 'c']);
    works[0]?.end();
    await settle();
    expect(started).toEqual(['a', 'b', 'c', 'd']);
    works[2]?.end();
    works[3]?.end();
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('refuses at once with 503 and Retry-After once `queueLimit` wait, and takes work again as the line shortens', async () => {
    const gate = new Gate(1, 2);
    const started: string[] = [];
    const works = ['a', 'b', 'c'].map((name) => held(started, name));
    const results = works.map((work) => gate.run(work.work));
    await settle();
    const refused = await gate.run(() => Promise.resolve('d')).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(HttpProblem);
    expect(refused).toMatchObject({
      status: 503,
      code: 'busy',
      message: 'This receiver is serving 2 reads of jobs already; try again in a moment.',
      headers: { 'Retry-After': '1' },
    });
    works[0]?.end();
    await settle();
    // One left the line: there is room for one more, and only one.
    const fourth = held(started, 'e');
    const accepted = gate.run(fourth.work);
    await expect(gate.run(() => Promise.resolve('f'))).rejects.toMatchObject({ status: 503 });
    for (const work of [...works, fourth]) work.end();
    expect(await Promise.all([...results, accepted])).toEqual(['a', 'b', 'c', 'e']);
    expect(started).toEqual(['a', 'b', 'c', 'e']);
  });

  it('frees the slot of work that fails, for the next in line and then for anyone', async () => {
    const gate = new Gate(1, 5);
    const started: string[] = [];
    const first = held(started, 'a');
    const second = held(started, 'b');
    const failing = gate.run(first.work);
    const next = gate.run(second.work);
    first.fail();
    await expect(failing).rejects.toThrow('a failed');
    second.end();
    expect(await next).toBe('b');
    // Both slots were handed back: two more run at once would mean a slot was lost or doubled.
    const third = held(started, 'c');
    const fourth = held(started, 'd');
    const runs = [gate.run(third.work), gate.run(fourth.work)];
    await settle();
    expect(started).toEqual(['a', 'b', 'c']);
    third.end();
    fourth.end();
    expect(await Promise.all(runs)).toEqual(['c', 'd']);
  });
});
