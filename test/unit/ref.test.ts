import { describe, expect, it } from '@jest/globals';
import { formatRef, parseRef } from '../../src/domain/types.js';

describe('request references', () => {
  it.each([
    [1, 'UPG-000001'],
    [123, 'UPG-000123'],
    [1234567, 'UPG-1234567'],
  ])('formats id %i as %s and reads it back', (id, ref) => {
    expect(formatRef(id)).toBe(ref);
    expect(parseRef(ref)).toBe(id);
  });

  it.each(['', 'UPG-', 'ABC-000001', 'UPG-0', 'UPG-12x'])('refuses %j as a reference', (text) => {
    expect(parseRef(text)).toBeNull();
  });

  it('reads references case-insensitively and without the dash', () => {
    expect(parseRef(' upg000042 ')).toBe(42);
  });
});
