// The longest functions of the sources: every named function (declaration, method, or function/arrow assigned to a
// name) in libs/*/src and apps/*/src, tests excluded, longer than MIN lines (default 80), longest first.
//   node scripts/longest-functions.mjs [ROOT] [MIN]      ROOT: a checkout (default: this one)
// Lines are counted from the function's first to its last line, comments inside included.
import { createRequire } from 'node:module';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
const root = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..');
const min = Number(process.argv[3] ?? 80);
const ts = createRequire(import.meta.url)('typescript');
const files = [];
const walk = (d) => {
  for (const e of readdirSync(d)) {
    if (e === 'node_modules' || e === 'test' || e === 'dist' || e.startsWith('.')) continue;
    const p = join(d, e);
    if (statSync(p).isDirectory()) walk(p);
    else if (/\.ts$/.test(e) && !/\.test\.ts$|\.d\.ts$/.test(e)) files.push(p);
  }
};
for (const top of ['libs', 'apps'])
  for (const pkg of readdirSync(join(root, top))) {
    const src = join(root, top, pkg, 'src');
    if (statSync(src, { throwIfNoEntry: false })?.isDirectory()) walk(src);
  }
const out = [];
for (const f of files) {
  const src = ts.createSourceFile(f, readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, true);
  const visit = (node) => {
    let n = null;
    if (ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) n = node.name?.getText(src);
    else if ((ts.isArrowFunction(node) || ts.isFunctionExpression(node)) && node.parent) {
      const p = node.parent;
      if (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p)) n = p.name.getText(src);
    }
    if (n && node.body) {
      const a = src.getLineAndCharacterOfPosition(node.getStart(src)).line;
      const b = src.getLineAndCharacterOfPosition(node.end).line;
      if (b - a + 1 > min) out.push([b - a + 1, n, `${relative(root, f)}:${a + 1}`]);
    }
    ts.forEachChild(node, visit);
  };
  visit(src);
}
out.sort((x, y) => y[0] - x[0]);
for (const [lines, n, at] of out) console.log(`${String(lines).padStart(4)}  ${n}  ${at}`);
