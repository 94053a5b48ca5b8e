// Lint: every export of src/ and analysis/ is used by the product (src, analysis, scripts), not only by tests.
// An export nothing uses is dead code; one only tests call mirrors a rule the product does not apply (what
// classifyRwbs and isInvoluntary were: kernel rules tested while the scripts used other code).
// Usage: node dist/scripts/dead-exports.js   (after tsc; exit 1 and one line per dead export when there are any)
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const configFile = ts.readConfigFile(path.join(root, 'tsconfig.json'), (f) => ts.sys.readFile(f));
const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root);
const program = ts.createProgram(parsed.fileNames, { ...parsed.options, noEmit: true });
const checker = program.getTypeChecker();

const rel = (f: string): string => path.relative(root, f);
const ours = program.getSourceFiles().filter((f) => !f.isDeclarationFile && !rel(f.fileName).startsWith('node_modules'));
const isProduct = (f: ts.SourceFile): boolean => /^(src|analysis|scripts)\//.test(rel(f.fileName));
const audited = (f: ts.SourceFile): boolean => /^(src|analysis)\//.test(rel(f.fileName));

/** The declaration symbol an identifier stands for, through imports and re-exports. */
function target(id: ts.Identifier): ts.Symbol | undefined {
  let s = checker.getSymbolAtLocation(id) ?? (ts.isShorthandPropertyAssignment(id.parent) ? checker.getShorthandAssignmentValueSymbol(id.parent) : undefined);
  if (s && s.flags & ts.SymbolFlags.Alias) s = checker.getAliasedSymbol(s);
  return s;
}

// Symbols the product uses: any identifier in a product file that is not the name in its own declaration.
const used = new Set<ts.Symbol>();
for (const f of ours.filter(isProduct)) {
  const visit = (n: ts.Node): void => {
    if (ts.isIdentifier(n)) {
      const p = n.parent;
      const isDeclName = (ts.isFunctionDeclaration(p) || ts.isVariableDeclaration(p) || ts.isInterfaceDeclaration(p) || ts.isTypeAliasDeclaration(p) || ts.isClassDeclaration(p) || ts.isEnumDeclaration(p)) && p.name === n;
      const isExportSpec = ts.isExportSpecifier(p);
      if (!isDeclName && !isExportSpec) {
        const s = target(n);
        if (s) used.add(s);
      }
      // `const { renderHtml } = await import('./render/html.js')`: the property of the module it names.
      if (ts.isBindingElement(p) && ts.isObjectBindingPattern(p.parent) && (p.propertyName ?? p.name) === n) {
        let s = checker.getTypeAtLocation(p.parent).getProperty(n.text);
        if (s && s.flags & ts.SymbolFlags.Alias) s = checker.getAliasedSymbol(s);
        if (s) used.add(s);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(f);
}

const dead: string[] = [];
for (const f of ours.filter(audited)) {
  const mod = checker.getSymbolAtLocation(f);
  if (!mod) continue;
  for (const e of checker.getExportsOfModule(mod)) {
    const s = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e;
    if (used.has(s)) continue;
    const decl = s.declarations?.[0];
    if (!decl || decl.getSourceFile() !== f) continue; // a re-export: judged where it is declared
    const line = f.getLineAndCharacterOfPosition(decl.getStart()).line + 1;
    dead.push(`${rel(f.fileName)}:${line}: ${e.name} is exported but the product never uses it (only tests, or nothing)`);
  }
}
for (const d of dead.sort()) console.log(d);
if (dead.length) {
  console.log(`dead-exports: ${dead.length} export(s) unused by src, analysis and scripts: remove them, or stop exporting them`);
  process.exit(1);
}
