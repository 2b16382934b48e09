import { describe, expect, it } from 'vitest';
import { LineCounter, parseDocument } from 'yaml';
import { offsetOfPath, segmentsOfJsonPath, segmentsOfPointer } from '../../src/domain/yaml-locate';

const TEXT = ['claim:', '  status: draft', '  history:', '    - at: 2026-03-02T09:00:00Z', '      by: partner', '  tags: [a, b]', 'shared: &s', '  deep: 1', 'again: *s', ''].join('\n');

function positionOf(path: Array<string | number>, anchor: 'key' | 'value' | 'keyOfBlock', lastAtKey = false): string {
  const lineCounter = new LineCounter();
  const doc = parseDocument(TEXT, { lineCounter });
  const { line, col } = lineCounter.linePos(offsetOfPath(doc, path, anchor, lastAtKey));
  return `${line}:${col}`;
}

describe('YAML path to line and column', () => {
  it('reports a map entry at its key when asked for keys (cpor evaluate)', () => {
    expect(positionOf(['claim', 'status'], 'key')).toBe('2:3');
    expect(positionOf(['claim', 'history'], 'key')).toBe('3:3');
  });

  it('reports a map entry at its value when asked for values (scenario files)', () => {
    expect(positionOf(['claim', 'status'], 'value')).toBe('2:11');
    expect(positionOf(['claim', 'history'], 'value')).toBe('4:5');
  });

  it('reports a scalar or flow value itself and a block collection at its key (policy files)', () => {
    expect(positionOf(['claim', 'status'], 'keyOfBlock')).toBe('2:11');
    expect(positionOf(['claim', 'tags'], 'keyOfBlock')).toBe('6:9');
    expect(positionOf(['claim', 'history'], 'keyOfBlock')).toBe('3:3');
    expect(positionOf(['claim', 'status'], 'keyOfBlock', true)).toBe('2:3');
  });

  it('reports sequence items where they start', () => {
    expect(positionOf(['claim', 'history', 0], 'key')).toBe('4:7');
    expect(positionOf(['claim', 'history', 0, 'by'], 'value')).toBe('5:11');
  });

  it('reports a path beyond the document at its nearest existing ancestor', () => {
    expect(positionOf(['claim', 'history', 3, 'at'], 'key')).toBe('3:3');
    expect(positionOf(['claim', 'nothing'], 'value')).toBe('2:3');
  });

  it('follows aliases into the node they name', () => {
    expect(positionOf(['again', 'deep'], 'value')).toBe('8:9');
  });

  it('reads JSONPaths and JSON pointers into the same segments', () => {
    expect(segmentsOfJsonPath('$.claim.history[0]["a.b"]')).toEqual(['claim', 'history', 0, 'a.b']);
    expect(segmentsOfPointer('/claim/history/0/a~1b')).toEqual(['claim', 'history', '0', 'a/b']);
  });
});
