/**
 * The evaluation route remembers request bodies that passed its schema check (by the SHA-256 of
 * their exact bytes) with their kept answers, least recently used first, bounded by count and by
 * bytes, so a client sending many distinct bodies cannot grow the service's memory.
 */
import { describe, expect, it } from 'vitest';
import { createCheckedBodies } from '../../src/http/evaluate-routes';

const body = (n: number, size: number) => Buffer.from(`{"n":${n},"pad":"${'x'.repeat(size)}"}`);

const answer = (size: number) => ({ policy: {} as never, verdict: {} as never, text: 'a'.repeat(size) });

describe('the checked request bodies of /v1/evaluate', () => {
  it('never holds more bytes than its bound, dropping the least recently used first', () => {
    const checked = createCheckedBodies(64 * 1024);
    let perEntry = 0;
    for (let n = 0; n < 200; n++) {
      const found = checked.get(body(n, 1000))!;
      expect(found.entry).toBeUndefined();
      checked.add(found.key);
      checked.keepAnswer(found.key, answer(4000));
      perEntry = found.key.length + 4000;
      expect(checked.size.bytes).toBeLessThanOrEqual(64 * 1024);
    }
    expect(checked.size.bodies).toBe(Math.floor((64 * 1024) / perEntry));
    // The most recent are held, the first are gone.
    expect(checked.get(body(199, 1000))!.entry).toBeDefined();
    expect(checked.get(body(0, 1000))!.entry).toBeUndefined();
  });

  it('keeps a digest of the bytes, not the bytes: a 15 KiB body costs its 44-character key', () => {
    const checked = createCheckedBodies(64 * 1024);
    const { key } = checked.get(body(1, 15 * 1024))!;
    checked.add(key);
    expect(key).toHaveLength(44);
    expect(checked.size).toEqual({ bodies: 1, bytes: 44 });
    expect(checked.get(body(1, 15 * 1024))!.entry).toBeDefined();
    expect(checked.get(body(2, 15 * 1024))!.entry).toBeUndefined();
  });

  it('holds at most 4,096 bodies, however small', () => {
    const checked = createCheckedBodies();
    for (let n = 0; n < 4100; n++) checked.add(checked.get(body(n, 1))!.key);
    expect(checked.size.bodies).toBe(4096);
    expect(checked.get(body(4099, 1))!.entry).toBeDefined();
    expect(checked.get(body(3, 1))!.entry).toBeUndefined();
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

  it("counts a kept answer's text in its bound, and drops bodies to make room for it", () => {
    const checked = createCheckedBodies(16 * 1024);
    const keys = [1, 2, 3].map((n) => checked.get(body(n, 3000))!.key);
    for (const key of keys) checked.add(key);
    checked.keepAnswer(keys[0]!, answer(6000));
    checked.keepAnswer(keys[1]!, answer(6000));
    const kept = answer(6000);
    checked.keepAnswer(keys[2]!, kept);
    expect(checked.size.bytes).toBeLessThanOrEqual(16 * 1024);
    expect(checked.get(body(3, 3000))!.entry!.answer).toBe(kept);
    expect(checked.get(body(1, 3000))!.entry).toBeUndefined();
  });
});
