// The exported functions of one JS/TS source that hold changed lines, and the literal inputs
// the project already gives them, read with the TypeScript compiler API (parsed, never run).
//
// Run by Node in the sandbox: `node export_scan.cjs REQUEST.json`, where the request is
// {"typescript": "<folder of the typescript package>", "source": "<abs path>",
//  "changed": [line, ...], "tests": ["<abs path>", ...], "out": "<abs path>" (optional),
//  "base": "<abs path of the base commit's version of the source>" (optional)}.
// It prints (or writes to `out`) one JSON object: {"functions": [...], "members": [...], "expressions": [...],
// "problems": [...]}. members: the changed class members ({name, literals}); expressions: what
// the tests check of them, made self-contained (test_expressions.cjs). Each function:
// {name, export ("name" | "default"), line, end, async, params: [{name, optional, rest, type,
//  literal, props: [[property, value text], ...]}], examples: [[arg text, ...], ...], calls: [[arg text, ...], ...] (the literal calls
//  in the tests), literals: [text, ...] (the changed lines' first), via: [name, ...] (for an
//  export that holds no changed line: the changed declarations of the module it reaches)}.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const request = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const ts = withModifiers(require(request.typescript));
const { isLiteral, primitive, rowsAround, resolve, spreadElements } =
  require("./literal_rows.cjs")(ts);
const { changedMembers, expressionsIn } = require("./test_expressions.cjs")(ts);
const { callers, reachingMembers, thisCallers } = require("./inner_callers.cjs")(ts);
const { regexSamples } = require("./regex_samples.cjs");
const { objectLiterals, inputsFor } = require("./object_inputs.cjs")(ts);
const MAX_CALLS = 48; // literal calls kept per function, per source of them
const MAX_SEEN_CALLS = 4 * MAX_CALLS; // read, to keep MAX_CALLS of them
const MAX_LITERALS = 16;
const MAX_ARG_TEXT = 300;
const MAX_MEMBERS = 8; // changed members and those that reach a changed function

// TypeScript before 4.8 has no getModifiers (a node's modifiers are its own `modifiers` there),
// and before 4.9 no `satisfies` (so no node is one): with these the project's own compiler
// still reads its source (css-what's is 4.5)
function withModifiers(ts) {
  if (typeof ts.getModifiers === "function" && typeof ts.isSatisfiesExpression === "function") {
    return ts;
  }
  return {
    ...ts,
    canHaveModifiers: ts.canHaveModifiers || ((node) => node.modifiers !== undefined),
    getModifiers: ts.getModifiers || ((node) => node.modifiers),
    isSatisfiesExpression: ts.isSatisfiesExpression || (() => false),
  };
}

function parse(file) {
  const text = fs.readFileSync(file, "utf8");
  const kind = /\.(tsx|jsx)$/.test(file) ? ts.ScriptKind.TSX : ts.ScriptKind.Unknown;
  return ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
}

function lineOf(sf, pos) {
  return sf.getLineAndCharacterOfPosition(pos).line + 1;
}

function hasModifier(node, kind) {
  return (ts.canHaveModifiers(node) ? ts.getModifiers(node) || [] : []).some(
    (m) => m.kind === kind,
  );
}

function calleeName(call) {
  const callee = call.expression;
  if (ts.isIdentifier(callee)) return callee.text;
  if (ts.isPropertyAccessExpression(callee)) return callee.name.text;
  return null;
}

// A call's arguments as literal nodes in a row: a spread of a literal array (`fn(...t.input)`,
// a data-driven test's usual call of a variadic function) gives its elements; null in a slot
// that is not a literal.
function argumentsOf(call, row) {
  const values = [];
  for (const arg of call.arguments) {
    if (!ts.isSpreadElement(arg)) {
      values.push(resolve(arg, row));
      continue;
    }
    const elements = spreadElements(resolve(arg.expression, row));
    if (elements === null) return [null];
    values.push(...elements);
  }
  return values;
}

// What kind of argument each text is: a table's rows that give an option the others leave out
// (`[input, expected, { sentenceCase: true }]` among many `[input, expected]`) have their own
function shapeOf(args) {
  return args
    .map((t) => {
      if (t === "undefined") return "u";
      if (t.startsWith("{")) return "o" + [...t.matchAll(/([\w$]+)\s*:/g)].map((m) => m[1]).sort();
      if (t.startsWith("[")) return "a";
      return /^["'`]/.test(t) ? "s" : t;
    })
    .join("|");
}

// At most `limit` of the calls, the first of each shape first, then the rest in order
function diverse(calls, limit) {
  const shapes = new Set();
  const first = [];
  const rest = [];
  for (const args of calls) {
    const shape = shapeOf(args);
    (shapes.has(shape) ? rest : first).push(args);
    shapes.add(shape);
  }
  return [...first, ...rest].slice(0, limit);
}

function literalCalls(sf, names) {
  const found = new Map(names.map((n) => [n, []]));
  const seen = new Set();
  const visit = (node) => {
    if (ts.isCallExpression(node)) {
      const name = calleeName(node);
      const calls = name !== null ? found.get(name) : undefined;
      for (const row of calls !== undefined ? rowsAround(node) : []) {
        if (calls.length >= MAX_SEEN_CALLS) break;
        const values = argumentsOf(node, row);
        if (values.some((v) => v === null || !isLiteral(v))) continue;
        const args = values.map((v) => v.getText());
        const key = `${name}${JSON.stringify(args)}`;
        if (args.every((t) => t.length <= MAX_ARG_TEXT) && !seen.has(key)) {
          seen.add(key);
          calls.push(args);
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  for (const [name, calls] of found) found.set(name, diverse(calls, MAX_CALLS));
  return found;
}

function exampleCalls(node, name) {
  const calls = [];
  for (const tag of ts.getJSDocTags(node)) {
    if (tag.tagName.text !== "example") continue;
    const text = typeof tag.comment === "string" ? tag.comment : ts.getTextOfJSDocComment(tag.comment);
    if (!text) continue;
    const code = text.replace(/^\s*```\w*\s*$/gm, "");
    const sf = ts.createSourceFile("example.ts", code, ts.ScriptTarget.Latest, true);
    calls.push(...(literalCalls(sf, [name]).get(name) || []));
  }
  return calls.slice(0, MAX_CALLS);
}

const MAX_PROPS = 4; // per parameter

// The properties a function reads of an object parameter (`options.singleQuotes`,
// `opts?.strict`, a destructured `{ strict }`), each with a value that sets it: the literal it
// is compared with (`options.mode === "x"`), else `true`; those on the changed lines first. A
// test rarely passes each option, and a changed branch often waits behind one.
function paramProps(fn, changed) {
  const sf = fn.getSourceFile();
  const found = fn.parameters.map(() => new Map());
  const onChanged = fn.parameters.map(() => new Set());
  const flags = fn.parameters.map(() => new Set()); // destructured with a boolean default
  const index = new Map();
  fn.parameters.forEach((p, i) => {
    if (ts.isIdentifier(p.name)) index.set(p.name.text, i);
    else if (ts.isObjectBindingPattern(p.name)) {
      for (const e of p.name.elements) {
        const key = e.propertyName || e.name;
        if (ts.isIdentifier(key) && !e.dotDotDotToken) found[i].set(key.text, "true");
      }
    }
  });
  const visit = (node) => {
    const called = ts.isCallExpression(node.parent) && node.parent.expression === node;
    if (
      ts.isPropertyAccessExpression(node) &&
      !called && // a method of the value (`value.at(-1)`), not an option
      node.name.text !== "length" && // an array's or a string's length, not an option
      ts.isIdentifier(node.expression) &&
      index.has(node.expression.text)
    ) {
      const i = index.get(node.expression.text);
      const parent = node.parent;
      let value = "true";
      const compared = [
        ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken,
        ts.SyntaxKind.EqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsToken,
      ]; // prettier-ignore
      // a comparison's other side (`opts.mode === "x"`), not a fallback (`opts.list || []`)
      if (
        ts.isBinaryExpression(parent) &&
        compared.includes(parent.operatorToken.kind) &&
        [parent.left, parent.right].includes(node)
      ) {
        const other = parent.left === node ? parent.right : parent.left;
        // `options.x === undefined` says nothing of a value that sets it
        if (isLiteral(other) && !["undefined", "null"].includes(other.getText())) {
          value = other.getText();
        }
      }
      if (!found[i].has(node.name.text) || value !== "true") found[i].set(node.name.text, value);
      if (changed.has(lineOf(sf, node.getStart()))) onChanged[i].add(node.name.text);
    }
    // `const { sentenceCase = false, locale } = options` (or of an expression over it,
    // `typeof options === "string" ? { locale: options } : options`): the options it reads
    if (
      ts.isVariableDeclaration(node) &&
      ts.isObjectBindingPattern(node.name) &&
      node.initializer
    ) {
      const i = paramIn(node.initializer, index);
      for (const e of i === null ? [] : node.name.elements) {
        const key = e.propertyName || e.name;
        if (!ts.isIdentifier(key) || e.dotDotDotToken || found[i].has(key.text)) continue;
        // a flag that defaults to false is set by true, and one that defaults to true by false
        const flip = e.initializer && e.initializer.kind === ts.SyntaxKind.TrueKeyword;
        const flag = flip || (e.initializer && e.initializer.kind === ts.SyntaxKind.FalseKeyword);
        found[i].set(key.text, flip ? "false" : "true");
        if (flag) flags[i].add(key.text);
        if (ts.isIdentifier(e.name)) bound.set(e.name.text, [i, key.text]);
      }
    }
    if (ts.isIdentifier(node) && bound.has(node.text) && changed.has(lineOf(sf, node.getStart()))) {
      const [i, key] = bound.get(node.text);
      onChanged[i].add(key);
    }
    ts.forEachChild(node, visit);
  };
  const bound = new Map(); // a destructured option's local name -> [parameter index, property]
  if (fn.body) visit(fn.body);
  // those the changed lines read first, a flag before another option (`true` sets a flag,
  // where `{ locale: true }` only breaks a string option)
  const rank = (i, name) => 2 * Number(onChanged[i].has(name)) + Number(flags[i].has(name));
  return found.map((props, i) => ({
    props: [...props].sort(([a], [b]) => rank(i, b) - rank(i, a)).slice(0, MAX_PROPS),
    reads: [...props.keys()], // every property it reads, for object_inputs.cjs
    changedReads: [...onChanged[i]],
  }));
}

// The index of the parameter an expression reads (by its name, anywhere in it), or null
function paramIn(expression, index) {
  let found = null;
  const visit = (node) => {
    if (found !== null) return;
    if (ts.isIdentifier(node) && index.has(node.text)) found = index.get(node.text);
    else ts.forEachChild(node, visit);
  };
  visit(expression);
  return found;
}

function params(fn, changed = new Set()) {
  const props = paramProps(fn, changed);
  return fn.parameters.map((p, i) => ({
    name: p.name.getText(),
    optional: Boolean(p.questionToken || p.initializer),
    rest: Boolean(p.dotDotDotToken),
    type: p.type ? p.type.getText() : null,
    literal: p.initializer && isLiteral(p.initializer) ? p.initializer.getText() : null,
    props: props[i].props,
    reads: props[i].reads,
    changed_reads: props[i].changedReads,
  }));
}

// The numbers on the changed lines inside ``node``: the edges a changed comparison decides at
function changedNumbers(sf, node, changed) {
  const found = [];
  const visit = (n) => {
    if (primitive(n) && !/^["'`]/.test(n.getText())) {
      if (changed.has(lineOf(sf, n.getStart()))) found.push(n.getText());
      return;
    }
    ts.forEachChild(n, visit);
  };
  visit(node);
  return [...new Set(found)];
}

// Module-level `const NAME = /regex/`: a changed line that uses NAME changes on its regex
function regexConstants(sf) {
  const found = new Map();
  for (const st of sf.statements) {
    if (!ts.isVariableStatement(st)) continue;
    for (const d of st.declarationList.declarations) {
      if (ts.isIdentifier(d.name) && d.initializer && ts.isRegularExpressionLiteral(d.initializer)) {
        found.set(d.name.text, d.initializer.getText());
      }
    }
  }
  return found;
}

// The module's enum members with a literal value: "Enum.Member" -> its literal node
function enumMembers(sf) {
  const found = new Map();
  for (const st of sf.statements) {
    if (!ts.isEnumDeclaration(st)) continue;
    for (const member of st.members) {
      const init = member.initializer;
      if (init && primitive(init) && ts.isIdentifier(member.name)) {
        found.set(`${st.name.text}.${member.name.text}`, init);
      }
    }
  }
  return found;
}

// A changed line's enum member (css-what's `CharCode.Pipe`) as the literals it stands for: its
// value, and where it is compared with a `charCodeAt(…)`, the character itself ("|"), which a
// test's string can then be varied with
function enumLiterals(node, members) {
  const value = members.get(node.getText());
  if (!value) return [];
  const out = [value.getText()];
  const compared = node.parent && ts.isBinaryExpression(node.parent) ? node.parent : null;
  const other = compared && (compared.left === node ? compared.right : compared.left);
  const code = Number(value.getText());
  if (
    other && ts.isCallExpression(other) && ts.isPropertyAccessExpression(other.expression) &&
    other.expression.name.text === "charCodeAt" && Number.isInteger(code) && code > 0
  ) {
    out.push(JSON.stringify(String.fromCharCode(code)));
  }
  return out;
}

function literalsIn(sf, fn, changed) {
  const onChanged = [];
  const elsewhere = [];
  const regexes = regexConstants(sf);
  const members = enumMembers(sf);
  const visit = (node) => {
    const here = changed.has(lineOf(sf, node.getStart()));
    if (here && ts.isPropertyAccessExpression(node) && members.has(node.getText())) {
      onChanged.push(...enumLiterals(node, members));
      return;
    }
    // a changed regex (written there, or a module constant named there): a string it matches
    const regex = ts.isRegularExpressionLiteral(node)
      ? node.getText()
      : ts.isIdentifier(node) && here ? regexes.get(node.text) : undefined;
    if (regex !== undefined) {
      if (here) onChanged.push(...regexSamples(regex, REMOVED_REGEXES));
      return;
    }
    if (primitive(node)) {
      const text = node.getText();
      (changed.has(lineOf(sf, node.getStart())) ? onChanged : elsewhere).push(text);
      return;
    }
    ts.forEachChild(node, visit);
  };
  // a function's body, a variable's value, else the node itself (a class, a made value)
  visit(fn.body || fn.initializer || fn);
  // what the change brought first: a literal the base's version of the source did not have
  // (destr's new `!value.includes("\\")` beside the `'"'` both sides check)
  const brought = onChanged.filter((t) => !BASE_LITERALS.has(t));
  const first = [...brought, ...onChanged.filter((t) => BASE_LITERALS.has(t))];
  return [...new Set([...first, ...elsewhere])].slice(0, MAX_LITERALS);
}

// Every function the module exports: [exported name, the function node, the node its JSDoc is on]
function exported(sf) {
  const local = new Map(); // name -> [function node, doc node]
  const out = [];
  const functionOf = (init) =>
    init && (ts.isArrowFunction(init) || ts.isFunctionExpression(init)) ? init : null;
  for (const statement of sf.statements) {
    const isExported = hasModifier(statement, ts.SyntaxKind.ExportKeyword);
    const isDefault = hasModifier(statement, ts.SyntaxKind.DefaultKeyword);
    if (ts.isFunctionDeclaration(statement) && statement.body) {
      const name = statement.name ? statement.name.text : null;
      if (name) local.set(name, [statement, statement]);
      if (isExported) out.push([isDefault ? "default" : name, statement, statement]);
    } else if (ts.isVariableStatement(statement)) {
      for (const decl of statement.declarationList.declarations) {
        const fn = functionOf(decl.initializer);
        if (!fn || !ts.isIdentifier(decl.name)) continue;
        local.set(decl.name.text, [fn, decl]);
        if (isExported) out.push([decl.name.text, fn, decl]);
      }
    } else if (ts.isExportDeclaration(statement) && !statement.moduleSpecifier) {
      const clause = statement.exportClause;
      if (clause && ts.isNamedExports(clause)) {
        for (const spec of clause.elements) {
          const found = local.get((spec.propertyName || spec.name).text);
          if (found) out.push([spec.name.text, found[0], found[1]]);
        }
      }
    } else if (ts.isExportAssignment(statement) && ts.isIdentifier(statement.expression)) {
      const found = local.get(statement.expression.text);
      if (found) out.push(["default", found[0], found[1]]);
    } else if (ts.isExpressionStatement(statement)) {
      commonjs(statement.expression, local, functionOf, out);
    }
  }
  return out;
}

// module.exports = { a, b }; module.exports.a = …; exports.a = …
function commonjs(expr, local, functionOf, out) {
  if (!ts.isBinaryExpression(expr) || expr.operatorToken.kind !== ts.SyntaxKind.EqualsToken) return;
  const target = expr.left.getText();
  if (target === "module.exports" && ts.isObjectLiteralExpression(expr.right)) {
    for (const p of expr.right.properties) {
      if (ts.isShorthandPropertyAssignment(p)) {
        const found = local.get(p.name.text);
        if (found) out.push([p.name.text, found[0], found[1]]);
      } else if (ts.isPropertyAssignment(p) && ts.isIdentifier(p.name)) {
        const fn = functionOf(p.initializer);
        const found = ts.isIdentifier(p.initializer) ? local.get(p.initializer.text) : null;
        if (fn) out.push([p.name.text, fn, p]);
        else if (found) out.push([p.name.text, found[0], found[1]]);
      }
    }
    return;
  }
  const match = /^(?:module\.)?exports\.([A-Za-z_$][\w$]*)$/.exec(target);
  if (match) {
    const fn = functionOf(expr.right);
    const found = ts.isIdentifier(expr.right) ? local.get(expr.right.text) : null;
    if (fn) out.push([match[1], fn, expr]);
    else if (found) out.push([match[1], found[0], found[1]]);
  }
}

// The exported functions (and values a module function makes) that reach a changed
// declaration the module does not export: inputs from the changed lines' literals first
function reaching(sf, changed) {
  const changedIn = (node) => {
    const [line, end] = [lineOf(sf, node.getStart()), lineOf(sf, node.getEnd())];
    return [...changed].some((l) => l >= line && l <= end);
  };
  return callers(sf, exported(sf), changedIn).map((c) => {
    const own = c.fn && c.fn.name && ts.isIdentifier(c.fn.name) ? c.fn.name.text : null;
    const local = ts.isVariableDeclaration(c.doc) ? c.doc.name.getText() : own;
    const name = c.name === "default" ? local || "default" : c.name;
    const inner = c.inner.flatMap((node) => literalsIn(sf, node, changed));
    return {
      name,
      export: c.name === "default" ? "default" : "name",
      line: lineOf(sf, c.node.getStart()),
      end: lineOf(sf, c.node.getEnd()),
      async: c.fn ? hasModifier(c.fn, ts.SyntaxKind.AsyncKeyword) : false,
      params: c.fn ? params(c.fn, changed) : [],
      examples: exampleCalls(c.doc, name),
      calls: [],
      literals: [...new Set([...inner, ...literalsIn(sf, c.node, changed)])].slice(0, MAX_LITERALS),
      numbers: c.inner.flatMap((node) => changedNumbers(sf, node, changed)),
      via: c.via,
    };
  });
}

// The regex literals of the base commit's version of the source that the head no longer has:
// what a changed regex replaced, sampled beside it (regex_samples.cjs)
function removedRegexes(sf, base) {
  if (!base) return [];
  const texts = (file) => {
    const found = new Set();
    const visit = (node) => {
      if (ts.isRegularExpressionLiteral(node)) found.add(node.getText());
      ts.forEachChild(node, visit);
    };
    visit(file);
    return found;
  };
  const head = texts(sf);
  return [...texts(base)].filter((t) => !head.has(t));
}

// The texts of the base's version's literals (numbers, strings)
function baseLiterals(base) {
  const found = new Set();
  const visit = (node) => {
    if (primitive(node)) found.add(node.getText());
    else ts.forEachChild(node, visit);
  };
  if (base) visit(base);
  return found;
}

// The test files that name what the change holds first: its functions' and members' names and
// their string literals of 4 characters or more (commander's `'commander.excessArguments'`,
// which its exit tests check). The expressions a member gets are capped, and a package's
// first test files by name may only pass by it.
function nearestFirst(tests, changed) {
  const marks = new Set();
  for (const c of changed) {
    marks.add(c.name);
    for (const literal of c.literals || []) {
      const value = /^(["'`])(.*)\1$/s.exec(literal);
      if (value && value[2].length >= 4 && !value[2].includes("${")) marks.add(value[2]);
    }
  }
  const score = (file) => {
    let text = "";
    try {
      text = fs.readFileSync(file, "utf8");
    } catch {
      return 0;
    }
    return [...marks].filter((m) => text.includes(m)).length;
  };
  const scored = tests.map((file, index) => [score(file), index, file]);
  return scored.sort((a, b) => b[0] - a[0] || a[1] - b[1]).map(([, , file]) => file);
}

// The classes whose changed constructor a test reaches with `new`: the class itself and the
// classes of its folder that extend it (cron-parser's `new CronSecond(…)` runs the changed
// `CronField` constructor through `super`), name -> the constructor's group (its class)
function constructorNames(changedOnes) {
  const ctors = new Map();
  for (const m of changedOnes) if (m.isConstructor) ctors.set(m.name, m.name);
  if (!ctors.size) return ctors;
  const folder = path.dirname(request.source);
  let entries = [];
  try {
    entries = fs.readdirSync(folder).filter((f) => /\.(c|m)?[jt]sx?$/.test(f) && !/\.d\.ts$/.test(f));
  } catch {
    return ctors;
  }
  for (const entry of entries) {
    let text = "";
    try {
      text = fs.readFileSync(path.join(folder, entry), "utf8");
    } catch {
      continue;
    }
    for (const match of text.matchAll(/class\s+([A-Za-z_$][\w$]*)\s+extends\s+([A-Za-z_$][\w$]*)/g)) {
      if (ctors.has(match[2]) && !ctors.has(match[1])) ctors.set(match[1], ctors.get(match[2]));
    }
  }
  return ctors;
}

let REMOVED_REGEXES = [];
let BASE_LITERALS = new Set();

function main() {
  const problems = [];
  const sf = parse(request.source);
  const base = request.base && fs.existsSync(request.base) ? parse(request.base) : null;
  REMOVED_REGEXES = removedRegexes(sf, base);
  BASE_LITERALS = baseLiterals(base);
  const changed = new Set(request.changed);
  const functions = [];
  for (const [name, fn, doc] of exported(sf)) {
    const line = lineOf(sf, fn.getStart());
    const end = lineOf(sf, fn.getEnd());
    if (![...changed].some((l) => l >= line && l <= end)) continue;
    functions.push({
      name: name === "default" ? (fn.name ? fn.name.text : "default") : name,
      export: name === "default" ? "default" : "name",
      line,
      end,
      async: hasModifier(fn, ts.SyntaxKind.AsyncKeyword),
      params: params(fn, changed),
      examples: exampleCalls(doc, name === "default" && fn.name ? fn.name.text : name),
      calls: [],
      literals: literalsIn(sf, fn, changed),
      numbers: changedNumbers(sf, fn, changed),
    });
  }
  functions.push(...reaching(sf, changed));
  const names = functions.map((f) => f.name);
  // a private member is reached only through the members that call it (thisCallers below)
  const members = changedMembers(sf, changed)
    .filter((m) => !m.private)
    .map((m) => ({ name: m.name, literals: literalsIn(sf, m.node, changed) }));
  const ctors = constructorNames(changedMembers(sf, changed));
  const changedIn = (node) => {
    const [line, end] = [lineOf(sf, node.getStart()), lineOf(sf, node.getEnd())];
    return [...changed].some((l) => l >= line && l <= end);
  };
  const own = new Set(members.map((m) => m.name));
  for (const m of reachingMembers(sf, exported(sf), changedIn)) {
    if (own.has(m.name) || members.length >= MAX_MEMBERS) continue;
    own.add(m.name);
    const inner = m.inner.flatMap((node) => literalsIn(sf, node, changed));
    members.push({ name: m.name, literals: [...new Set(inner)].slice(0, MAX_LITERALS) });
  }
  // the class's own members that reach a changed one through `this` (its entry points)
  const changedOnes = changedMembers(sf, changed);
  for (const m of thisCallers(changedOnes, MAX_MEMBERS)) {
    if (own.has(m.name) || members.length >= MAX_MEMBERS) continue;
    own.add(m.name);
    const inner = m.inner.flatMap((node) => literalsIn(sf, node, changed));
    members.push({ name: m.name, literals: [...new Set(inner)].slice(0, MAX_LITERALS) });
  }
  const memberNames = new Set(members.filter((m) => !ctors.has(m.name)).map((m) => m.name));
  const functionNames = new Set(names);
  const expressions = [];
  const counts = new Map();
  const objects = [];
  const seenObjects = new Set();
  for (const test of nearestFirst(request.tests, [...functions, ...members])) {
    let calls;
    try {
      const tsf = parse(test);
      calls = literalCalls(tsf, names);
      objectLiterals(tsf, objects, seenObjects);
      for (const e of expressionsIn(tsf, memberNames, counts, functionNames, ctors)) {
        expressions.push({ ...e, test });
      }
    } catch (error) {
      problems.push(`${path.basename(test)}: ${String(error && error.message)}`);
      continue;
    }
    for (const f of functions) {
      const seen = new Set(f.calls.map((a) => JSON.stringify(a)));
      for (const args of calls.get(f.name) || []) {
        if (f.calls.length < MAX_CALLS && !seen.has(JSON.stringify(args))) f.calls.push(args);
      }
    }
  }
  // a parameter's objects from the tests' object literals (object_inputs.cjs)
  for (const f of functions) {
    for (const p of f.params) {
      p.objects = p.rest ? [] : inputsFor(objects, p.reads, p.changed_reads, f.numbers || []);
    }
  }
  // to a file when asked: a sandbox keeps only the end of a long output
  const found = JSON.stringify({ functions, members, expressions, problems });
  if (request.out) fs.writeFileSync(request.out, found);
  else process.stdout.write(found);
}

main();
