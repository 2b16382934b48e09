/**
 * The evaluation route remembers request bodies that passed its schema check (by their exact
 * bytes), least recently used first, bounded by count and by their bytes together, so a client
 * sending large distinct bodies cannot grow the service's memory.
 */
import { describe, expect, it } from 'vitest';
import { createCheckedBodies } from '../../src/http/evaluate-routes';

const body = (n: number, size: number) => Buffer.from(`{"n":${n},"pad":"${'x'.repeat(size)}"}`);

describe('the checked request bodies of /v1/evaluate', () => {
  it('never holds more bytes than its bound, dropping the least recently used first', () => {
    const checked = createCheckedBodies(64 * 1024);
    for (let n = 0; n < 200; n++) {
      const found = checked.get(body(n, 4000))!;
      expect(found.entry).toBeUndefined();
      checked.add(found.key);
      expect(checked.size.bytes).toBeLessThanOrEqual(64 * 1024);
    }
    expect(checked.size.bodies).toBe(Math.floor((64 * 1024) / body(0, 4000).length));
    // The most recent are held, the first are gone.
    expect(checked.get(body(199, 4000))!.entry).toBeDefined();
    expect(checked.get(body(0, 4000))!.entry).toBeUndefined();
  });

  it('holds a body once, however often it is added, and keeps the byte count exact', () => {
    const checked = createCheckedBodies(64 * 1024);
    const { key } = checked.get(body(1, 100))!;
    const first = checked.add(key);
    expect(checked.add(key)).toBe(first);
    expect(checked.size).toEqual({ bodies: 1, bytes: key.length });
  });

  it('does not remember an empty body or one over 16 KiB', () => {
    const checked = createCheckedBodies();
    expect(checked.get(Buffer.alloc(0))).toBeUndefined();
    expect(checked.get(body(1, 17 * 1024))).toBeUndefined();
  });

  it('counts a kept answer\'s text in its bound, and drops bodies to make room for it', () => {
    const checked = createCheckedBodies(16 * 1024);
    const keys = [1, 2, 3].map((n) => checked.add(checked.get(body(n, 3000))!.key) && checked.get(body(n, 3000))!.key);
    const answer = { policy: {} as never, verdict: {} as never, text: 'a'.repeat(8000) };
    checked.keepAnswer(keys[2]!, answer);
    expect(checked.size.bytes).toBeLessThanOrEqual(16 * 1024);
    expect(checked.get(body(3, 3000))!.entry!.answer).toBe(answer);
    expect(checked.get(body(1, 3000))!.entry).toBeUndefined();
  });
});
