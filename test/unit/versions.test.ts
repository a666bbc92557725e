import { describe, expect, it } from '@jest/globals';
import { compareVersions, MAX_MAJOR_JUMP, majorJump, parseVersion, sortVersions, stepPath } from '../../src/domain/versions.js';

describe('version parsing', () => {
  it.each([
    ['7', { major: 7, minor: 0, patch: 0 }],
    ['7.1', { major: 7, minor: 1, patch: 0 }],
    ['7.1.0', { major: 7, minor: 1, patch: 0 }],
    ['v7.1.0', { major: 7, minor: 1, patch: 0 }],
    ['V10.20.30', { major: 10, minor: 20, patch: 30 }],
    [' 5.2.0 ', { major: 5, minor: 2, patch: 0 }],
  ])('reads %j as %j', (text, expected) => {
    expect(parseVersion(text)).toEqual(expected);
  });

  it.each(['', 'v', '7.', '7.1.0.1', '7.x', 'latest', '-1.0.0', '7.1.0-beta'])('refuses %j', (text) => {
    expect(parseVersion(text)).toBeNull();
  });
});

describe('version comparison', () => {
  it.each([
    ['7.1.0', '7.1.0', 0],
    ['7.1', '7.1.0', 0],
    ['v7', '7.0.0', 0],
    ['7.1.0', '7.2.0', -1],
    ['7.10.0', '7.9.0', 1],
    ['8.0.0', '7.99.99', 1],
    ['7.1.1', '7.1.2', -1],
  ])('orders %s against %s as %i', (a, b, sign) => {
    expect(Math.sign(compareVersions(a, b))).toBe(sign);
  });

  it('throws on an unparsable version', () => {
    expect(() => compareVersions('7.1.0', 'latest')).toThrow(/latest/);
  });

  it.each([
    ['5.2.0', '7.1.0', 2],
    ['5.2.0', '9.1.0', 4],
    ['7.1.0', '7.9.0', 0],
    ['9.0.0', '7.0.0', -2],
  ])('counts the major jump from %s to %s as %i', (from, to, jump) => {
    expect(majorJump(from, to)).toBe(jump);
  });

  it('allows at most two major versions per step', () => {
    expect(MAX_MAJOR_JUMP).toBe(2);
  });

  it('sorts versions numerically and drops unparsable ones', () => {
    expect(sortVersions(['10.0.0', '9.1.0', 'junk', '9.0.10', '9.0.2'])).toEqual(['9.0.2', '9.0.10', '9.1.0', '10.0.0']);
  });
});

describe('step paths', () => {
  const available = ['6.0.0', '7.0.0', '7.3.0', '8.1.0', '9.1.0'];

  it.each([
    ['5.2.0', '9.1.0', available, ['7.3.0', '9.1.0']],
    ['5.2.0', '7.3.0', available, ['7.3.0']],
    ['5.2.0', '6.0.0', available, ['6.0.0']],
    ['9.1.0', '5.2.0', available, ['5.2.0']],
    ['5.2.0', '8.1.0', available, ['7.3.0', '8.1.0']],
    ['1.0.0', '9.0.0', ['2.0.0', '3.0.0', '5.1.0', '6.0.0', '7.2.0', '8.0.0', '9.0.0'], ['3.0.0', '5.1.0', '7.2.0', '9.0.0']],
    ['5.2.0', '9.1.0', ['6.0.0', '7.3.0', '9.2.0', '9.1.0'], ['7.3.0', '9.1.0']],
    ['5.2.0', '9.1.0', ['5.1.0', '5.3.0', '7.0.0', '9.1.0'], ['7.0.0', '9.1.0']],
    ['5.2.0', '11.0.0', ['7.0.0', '8.0.0', '10.0.0', '11.0.0'], ['7.0.0', '8.0.0', '10.0.0', '11.0.0']],
  ])('goes from %s to %s over %j as %j', (from, to, versions, expected) => {
    expect(stepPath(from, to, versions)).toEqual(expected);
  });

  it.each([
    ['5.2.0', '9.1.0', ['8.0.0', '9.1.0']],
    ['5.2.0', '9.1.0', ['9.1.0']],
    ['5.2.0', '10.0.0', ['6.0.0', '7.0.0', '10.0.0']],
    ['junk', '9.1.0', available],
  ])('finds no path from %s to %s over %j', (from, to, versions) => {
    expect(stepPath(from, to, versions)).toBeNull();
  });

  it('never takes a step of more than two majors', () => {
    const path = stepPath('1.0.0', '20.0.0', Array.from({ length: 20 }, (_, i) => `${i + 1}.0.0`)) ?? [];
    let previous = '1.0.0';
    for (const step of path) {
      expect(majorJump(previous, step)).toBeLessThanOrEqual(2);
      expect(majorJump(previous, step)).toBeGreaterThan(0);
      previous = step;
    }
    expect(previous).toBe('20.0.0');
  });
});
