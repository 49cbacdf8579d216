// The exported functions of one JS/TS source that hold changed lines, and the literal inputs
// the project already gives them, read with the TypeScript compiler API (parsed, never run).
//
// Run by Node in the sandbox: `node export_scan.cjs REQUEST.json`, where the request is
// {"typescript": "<folder of the typescript package>", "source": "<abs path>",
//  "changed": [line, ...], "tests": ["<abs path>", ...]}.
// It prints one JSON object: {"functions": [...], "problems": [...]}. Each function:
// {name, export ("name" | "default"), line, end, async, params: [{name, optional, rest, type,
//  literal}], examples: [[arg text, ...], ...], calls: [[arg text, ...], ...] (the literal calls
//  in the tests), literals: [text, ...] (the changed lines' first)}.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const request = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const ts = require(request.typescript);
const MAX_CALLS = 48; // literal calls kept per function, per source of them
const MAX_LITERALS = 16;
const MAX_ARG_TEXT = 300;

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

// A value written out in full: literals, and arrays and plain objects of them.
function isLiteral(node) {
  switch (node.kind) {
    case ts.SyntaxKind.NumericLiteral:
    case ts.SyntaxKind.BigIntLiteral:
    case ts.SyntaxKind.StringLiteral:
    case ts.SyntaxKind.NoSubstitutionTemplateLiteral:
    case ts.SyntaxKind.TrueKeyword:
    case ts.SyntaxKind.FalseKeyword:
    case ts.SyntaxKind.NullKeyword:
      return true;
    case ts.SyntaxKind.Identifier:
      return ["undefined", "NaN", "Infinity"].includes(node.text);
    case ts.SyntaxKind.PrefixUnaryExpression:
      return (
        (node.operator === ts.SyntaxKind.MinusToken || node.operator === ts.SyntaxKind.PlusToken) &&
        isLiteral(node.operand)
      );
    case ts.SyntaxKind.ParenthesizedExpression:
    case ts.SyntaxKind.AsExpression:
    case ts.SyntaxKind.SatisfiesExpression:
      return isLiteral(node.expression);
    case ts.SyntaxKind.ArrayLiteralExpression:
      return node.elements.every(isLiteral);
    case ts.SyntaxKind.ObjectLiteralExpression:
      return node.properties.every(
        (p) =>
          ts.isPropertyAssignment(p) &&
          (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name) || ts.isNumericLiteral(p.name)) &&
          isLiteral(p.initializer),
      );
    default:
      return false;
  }
}

// A primitive literal's text, for the changed lines' values
function primitive(node) {
  if (
    ts.isNumericLiteral(node) ||
    ts.isStringLiteral(node) ||
    ts.isNoSubstitutionTemplateLiteral(node)
  ) {
    return true;
  }
  return (
    ts.isPrefixUnaryExpression(node) &&
    node.operator === ts.SyntaxKind.MinusToken &&
    ts.isNumericLiteral(node.operand)
  );
}

function calleeName(call) {
  const callee = call.expression;
  if (ts.isIdentifier(callee)) return callee.text;
  if (ts.isPropertyAccessExpression(callee)) return callee.name.text;
  return null;
}

// --- data-driven tests: the rows a call runs with ---------------------------------------------
// `for (const t of rows) fn(t.input)`, `it.each(rows)("…", (a, b) => fn(a))` and names bound
// to literals (`const base = "/x"`) give a call's arguments as literals, one call per row.

const MAX_ROWS = 64; // rows one call expands to

function unwrap(node) {
  while (
    node &&
    (ts.isParenthesizedExpression(node) ||
      ts.isAsExpression(node) ||
      ts.isSatisfiesExpression(node) ||
      (ts.isTypeAssertionExpression && ts.isTypeAssertionExpression(node)))
  ) {
    node = node.expression;
  }
  return node;
}

// The literal a name is declared with where ``use`` sees it (the nearest enclosing block's
// `const name = <literal>`), or null
function declared(name, use) {
  for (let node = use.parent; node; node = node.parent) {
    for (const statement of node.statements || []) {
      if (!ts.isVariableStatement(statement)) continue;
      for (const decl of statement.declarationList.declarations) {
        if (ts.isIdentifier(decl.name) && decl.name.text === name && decl.initializer) {
          const value = unwrap(decl.initializer);
          return isLiteral(value) ? value : null;
        }
      }
    }
  }
  return null;
}

// The literal node an expression stands for in a row, or null
function resolve(node, row) {
  node = unwrap(node);
  if (!node) return null;
  if (ts.isIdentifier(node)) {
    if (row.has(node.text)) return row.get(node.text);
    if (["undefined", "NaN", "Infinity"].includes(node.text)) return node;
    return declared(node.text, node);
  }
  if (ts.isPropertyAccessExpression(node)) {
    const base = resolve(node.expression, row);
    if (!base || !ts.isObjectLiteralExpression(base)) return null;
    const prop = base.properties.find(
      (p) => ts.isPropertyAssignment(p) && p.name.getText().replace(/^["']|["']$/g, "") === node.name.text,
    );
    return prop ? unwrap(prop.initializer) : null;
  }
  if (ts.isElementAccessExpression(node) && ts.isNumericLiteral(node.argumentExpression)) {
    const base = resolve(node.expression, row);
    const index = Number(node.argumentExpression.text);
    return base && ts.isArrayLiteralExpression(base) ? unwrap(base.elements[index]) || null : null;
  }
  return isLiteral(node) ? node : null;
}

// A binding pattern bound to a value node: name -> literal node (nothing where it does not fit)
function bind(pattern, value, into) {
  value = unwrap(value);
  if (!value) return into;
  if (ts.isIdentifier(pattern)) {
    into.set(pattern.text, value);
  } else if (ts.isObjectBindingPattern(pattern) && ts.isObjectLiteralExpression(value)) {
    for (const element of pattern.elements) {
      const key = (element.propertyName || element.name).getText();
      const prop = value.properties.find(
        (p) => ts.isPropertyAssignment(p) && p.name.getText().replace(/^["']|["']$/g, "") === key,
      );
      if (prop) bind(element.name, prop.initializer, into);
    }
  } else if (ts.isArrayBindingPattern(pattern) && ts.isArrayLiteralExpression(value)) {
    pattern.elements.forEach((element, i) => {
      if (!ts.isOmittedExpression(element) && value.elements[i]) {
        bind(element.name, value.elements[i], into);
      }
    });
  }
  return into;
}

function arrayOf(node) {
  const found = resolve(node, new Map());
  return found && ts.isArrayLiteralExpression(found) ? found.elements : null;
}

// The rows a for-of loop or an `.each(rows)` callback binds, or null
function rowsOf(node) {
  if (ts.isForOfStatement(node) && ts.isVariableDeclarationList(node.initializer)) {
    const decl = node.initializer.declarations[0];
    const elements = decl ? arrayOf(node.expression) : null;
    return elements ? elements.map((e) => bind(decl.name, e, new Map())) : null;
  }
  if (!(ts.isArrowFunction(node) || ts.isFunctionExpression(node))) return null;
  const outer = node.parent;
  if (!outer || !ts.isCallExpression(outer) || !ts.isCallExpression(outer.expression)) return null;
  const each = outer.expression;
  if (!ts.isPropertyAccessExpression(each.expression) || each.expression.name.text !== "each") {
    return null;
  }
  const elements = each.arguments[0] ? arrayOf(each.arguments[0]) : null;
  if (!elements) return null;
  const params = node.parameters;
  return elements.map((element) => {
    const value = unwrap(element);
    if (params.length > 1 && ts.isArrayLiteralExpression(value)) {
      const row = new Map();
      params.forEach((p, i) => value.elements[i] && bind(p.name, value.elements[i], row));
      return row;
    }
    return params[0] ? bind(params[0].name, value, new Map()) : new Map();
  });
}

function rowsAround(call) {
  let rows = [new Map()];
  for (let node = call.parent; node; node = node.parent) {
    const options = rowsOf(node);
    if (!options || !options.length) continue;
    const next = [];
    for (const inner of rows) {
      for (const outer of options) {
        if (next.length < MAX_ROWS) next.push(new Map([...outer, ...inner]));
      }
    }
    rows = next;
  }
  return rows;
}

function literalCalls(sf, names) {
  const found = new Map(names.map((n) => [n, []]));
  const seen = new Set();
  const visit = (node) => {
    if (ts.isCallExpression(node)) {
      const name = calleeName(node);
      const calls = name !== null ? found.get(name) : undefined;
      for (const row of calls !== undefined ? rowsAround(node) : []) {
        if (calls.length >= MAX_CALLS) break;
        const values = node.arguments.map((a) => resolve(a, row));
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

function params(fn) {
  return fn.parameters.map((p) => ({
    name: p.name.getText(),
    optional: Boolean(p.questionToken || p.initializer),
    rest: Boolean(p.dotDotDotToken),
    type: p.type ? p.type.getText() : null,
    literal: p.initializer && isLiteral(p.initializer) ? p.initializer.getText() : null,
  }));
}

function literalsIn(sf, fn, changed) {
  const onChanged = [];
  const elsewhere = [];
  const visit = (node) => {
    if (primitive(node)) {
      const text = node.getText();
      (changed.has(lineOf(sf, node.getStart())) ? onChanged : elsewhere).push(text);
      return;
    }
    ts.forEachChild(node, visit);
  };
  if (fn.body) visit(fn.body);
  return [...new Set([...onChanged, ...elsewhere])].slice(0, MAX_LITERALS);
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

function main() {
  const problems = [];
  const sf = parse(request.source);
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
      params: params(fn),
      examples: exampleCalls(doc, name === "default" && fn.name ? fn.name.text : name),
      calls: [],
      literals: literalsIn(sf, fn, changed),
    });
  }
  const names = functions.map((f) => f.name);
  for (const test of request.tests) {
    let calls;
    try {
      calls = literalCalls(parse(test), names);
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
  process.stdout.write(JSON.stringify({ functions, problems }));
}

main();
