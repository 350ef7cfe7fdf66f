import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// Each package's src reads bottom-up: no two modules need each other, not even for a type. The
// packages themselves stack the same way (LAYERS below). Specifiers are read by TypeScript's own
// parser, so comments, strings and template text that merely look like imports do not count, and
// every form that does is seen: import/export ... from (multi-line, `type`, `export *`), bare
// `import './x.js'`, `import x = require()`, `require()`, `import()` and `typeof import()` types.

const root = resolve(import.meta.dirname, '..');
const packagesDir = join(root, 'packages');
const SOURCE = /\.(ts|mts|cts)$/;

/** Lower layers may not import higher ones; a package may depend on its own layer or below. */
const LAYERS: Record<string, number> = {
  fstree: 0,
  codecs: 0,
  verity: 0,
  'cli-kit': 1,
  'erofs-writer': 2,
  'erofs-reader': 2,
  'ext4-writer': 2,
  vmdk: 2,
  registry: 2,
  'oci-fsmerge': 3,
  boot: 4,
};

/** Every module specifier written as a string literal in the source text, in order. */
function specifiers(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const literal = (node: ts.Node | undefined): void => {
    if (node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node))) found.push(node.text);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) literal(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) literal(node.moduleReference.expression);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) literal(node.argument.literal);
    else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) literal(node.arguments[0]);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The source file a relative specifier names, as NodeNext resolves it: ./x.js is ./x.ts. */
function resolveRelative(from: string, specifier: string): string | undefined {
  const target = resolve(dirname(from), specifier);
  const swap: Record<string, string> = { '.js': '.ts', '.mjs': '.mts', '.cjs': '.cts' };
  const ext = extname(target);
  const candidates = swap[ext] ? [target.slice(0, -ext.length) + swap[ext], target] : [target];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : SOURCE.test(d.name) ? [join(dir, d.name)] : []))
    .sort();
}

/** The @fstools package a bare specifier names, or undefined for anything else. */
function fstoolsPackage(specifier: string): string | undefined {
  return /^@fstools\/([^/]+)/.exec(specifier)?.[1];
}

/** Every elementary cycle of a directed graph, each once, starting from its smallest node. */
function cycles(graph: Map<string, Set<string>>, limit = 500): string[][] {
  const nodes = [...graph.keys()].sort();
  const order = new Map(nodes.map((n, i) => [n, i]));
  const out: string[][] = [];
  for (const start of nodes) {
    const path = [start];
    const onPath = new Set(path);
    const extend = (node: string): void => {
      for (const next of [...(graph.get(node) ?? [])].sort()) {
        if (out.length >= limit) return;
        if (next === start) out.push([...path, start]);
        else if (!onPath.has(next) && order.get(next)! > order.get(start)!) {
          path.push(next);
          onPath.add(next);
          extend(next);
          onPath.delete(next);
          path.pop();
        }
      }
    };
    extend(start);
  }
  return out;
}

/** A failure message that names every offender, one a line. */
function listed(what: string, items: string[]): string {
  return `${what}:\n  ${items.join('\n  ')}\n`;
}

interface PackageInfo {
  dir: string;
  name: string;
  short: string;
  dependencies: Record<string, string>;
  /** dependencies, devDependencies, peer and optional: everything npm and tsc -b must order. */
  allDependencies: Record<string, string>;
  sources: { file: string; specifiers: string[] }[];
}

const packages: PackageInfo[] = readdirSync(packagesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(packagesDir, d.name, 'package.json')))
  .map((d) => {
    const dir = join(packagesDir, d.name);
    const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    const deps = (key: string) => (json[key] ?? {}) as Record<string, string>;
    const src = join(dir, 'src');
    return {
      dir,
      name: json.name as string,
      short: d.name,
      dependencies: deps('dependencies'),
      allDependencies: { ...deps('dependencies'), ...deps('devDependencies'), ...deps('peerDependencies'), ...deps('optionalDependencies') },
      sources: (existsSync(src) ? walk(src) : []).map((file) => ({ file, specifiers: specifiers(file, readFileSync(file, 'utf8')) })),
    };
  })
  .sort((a, b) => a.short.localeCompare(b.short));

describe('import specifiers', () => {
  it('are read as TypeScript reads them', () => {
    const text = `
      // import { no } from './comment.js';
      /* export * from './block-comment.js'; */
      import {
        a,
        type B,
      } from './multi-line.js';
      import type { C } from "./type-only.js";
      import D, * as E from './default-namespace.js';
      import './side-effect.js';
      export * from './star.js';
      export * as ns from './star-as.js';
      export { f, type G } from './named.js';
      export type { H } from './export-type.js';
      import I = require('./import-equals.cjs');
      const j: typeof import('./type-query.js') = null!;
      const k = await import('./dynamic.js');
      const l = require('node:os') as typeof import('node:os');
      const s = "import { x } from './string.js'";
      const t = \`export * from './template.js'\`;
      export const m = 1;
    `;
    expect(specifiers('sample.ts', text)).toEqual([
      './multi-line.js',
      './type-only.js',
      './default-namespace.js',
      './side-effect.js',
      './star.js',
      './star-as.js',
      './named.js',
      './export-type.js',
      './import-equals.cjs',
      './type-query.js',
      './dynamic.js',
      'node:os',
      'node:os',
    ]);
  });

  it('finds the package sources', () => {
    expect(packages.map((p) => p.short)).toEqual(Object.keys(LAYERS).sort());
    for (const p of packages) expect(p.sources.length, p.short).toBeGreaterThan(0);
  });
});

describe('modules within a package', () => {
  for (const p of packages) {
    it(`${p.short}: relative imports resolve inside src and form no cycle`, () => {
      const src = join(p.dir, 'src');
      const name = (file: string) => relative(p.dir, file).split(sep).join('/');
      const graph = new Map<string, Set<string>>(p.sources.map((s) => [name(s.file), new Set<string>()]));
      const problems: string[] = [];
      for (const { file, specifiers: specs } of p.sources) {
        for (const spec of specs.filter((s) => s.startsWith('./') || s.startsWith('../'))) {
          const target = resolveRelative(file, spec);
          if (!target) problems.push(`${name(file)}: '${spec}' names no file`);
          else if (relative(src, target).startsWith('..')) problems.push(`${name(file)}: '${spec}' reaches outside src`);
          else if (SOURCE.test(target)) graph.get(name(file))!.add(name(target));
        }
      }
      expect(problems, listed(`unresolved imports in ${p.short}`, problems)).toEqual([]);
      const found = cycles(graph).map((c) => c.join(' -> '));
      expect(found, listed(`import cycles in ${p.short}`, found)).toEqual([]);
    });
  }
});

describe('packages', () => {
  const internal = new Map(packages.map((p) => [p.name, p]));

  it('src imports only the @fstools packages its package.json depends on', () => {
    const problems: string[] = [];
    for (const p of packages) {
      for (const { file, specifiers: specs } of p.sources) {
        for (const spec of new Set(specs)) {
          const target = fstoolsPackage(spec);
          if (target === undefined) continue;
          const where = relative(root, file).split(sep).join('/');
          if (`@fstools/${target}` === p.name) problems.push(`${where}: imports its own package '${spec}'`);
          else if (!(`@fstools/${target}` in p.dependencies)) problems.push(`${where}: '${spec}' is not in ${p.name}'s dependencies`);
        }
      }
    }
    expect(problems, listed('undeclared @fstools imports', problems)).toEqual([]);
  });

  it('depend only on their own layer or below', () => {
    const problems: string[] = [];
    for (const p of packages) {
      for (const dep of Object.keys(p.allDependencies).filter((d) => internal.has(d))) {
        const target = internal.get(dep)!;
        if (LAYERS[target.short]! > LAYERS[p.short]!) problems.push(`${p.name} (layer ${LAYERS[p.short]}) depends on ${dep} (layer ${LAYERS[target.short]})`);
      }
    }
    expect(problems, listed('layering violations', problems)).toEqual([]);
  });

  it('form no dependency cycle, counting package.json and src imports', () => {
    const graph = new Map<string, Set<string>>(packages.map((p) => [p.name, new Set<string>()]));
    for (const p of packages) {
      for (const dep of Object.keys(p.allDependencies)) if (internal.has(dep)) graph.get(p.name)!.add(dep);
      for (const { specifiers: specs } of p.sources) {
        for (const spec of specs) {
          const target = fstoolsPackage(spec);
          if (target !== undefined && internal.has(`@fstools/${target}`)) graph.get(p.name)!.add(`@fstools/${target}`);
        }
      }
    }
    const found = cycles(graph).map((c) => c.join(' -> '));
    expect(found, listed('package dependency cycles', found)).toEqual([]);
  });
});
