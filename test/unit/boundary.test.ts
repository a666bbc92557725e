import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PLATFORM_PACKAGES = ['@slack/bolt', '@slack/web-api', 'discord.js', '@discordjs/rest', 'discord-api-types', 'typeorm', 'agenda', 'nodemailer'];
const GUARDED = ['commands', 'src/core', 'src/domain', 'src/services'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return full.endsWith('.ts') ? [full] : [];
  });
}

function importedModules(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/(?:import|export)[^'"`]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]/g)) {
    found.push((m[1] ?? m[2] ?? m[3]) as string);
  }
  return found;
}

describe('the architecture boundary', () => {
  it.each(GUARDED)('keeps %s free of platform, database and queue packages', (dir) => {
    const offenders = sourceFiles(path.join(ROOT, dir)).flatMap((file) =>
      importedModules(file)
        .filter((m) => PLATFORM_PACKAGES.some((p) => m === p || m.startsWith(`${p}/`)))
        .map((m) => `${path.relative(ROOT, file)} imports ${m}`),
    );
    expect(offenders).toEqual([]);
  });

  it('keeps src/domain free of imports from outside src/domain', () => {
    const offenders = sourceFiles(path.join(ROOT, 'src/domain')).flatMap((file) =>
      importedModules(file)
        .filter((m) => m.startsWith('.') && !path.resolve(path.dirname(file), m).startsWith(path.join(ROOT, 'src/domain')))
        .map((m) => `${path.relative(ROOT, file)} imports ${m}`),
    );
    expect(offenders).toEqual([]);
  });

  it('finds the imports it checks (the scanner itself works)', () => {
    const files = sourceFiles(path.join(ROOT, 'src/services'));
    expect(files.length).toBeGreaterThan(3);
    expect(files.flatMap(importedModules)).toContain('../domain/result.js');
  });
});
