// The tests of JS/TS test files, one by one, and the functions of the changed sources, read with
// the TypeScript compiler API (parsed, never run): what per-test selection (js_per_test.py)
// splits candidate files by and names a test's pins after.
//
// Run by Node in the sandbox: `node split_tests.cjs REQUEST.json`, where the request is
// {"typescript": "<folder of the typescript package>", "out": "<abs path>",
//  "files": [{"path": "<checkout-relative>", "file": "<abs path>"}, ...],
//  "sources": [{"path": "<checkout-relative>", "file": "<abs path>"}, ...]}.
// It writes one JSON object to `out`: {"files": {path: {"tests": [{name, first, last}],
// "blocks": [{name, first, last}], "problem": text (when the file cannot be split)}},
// "functions": {path: [[first, last, qualified name], ...]}}. A test's name is the runners':
// its describe titles and its own, joined by " > "; first and last are its statement's lines
// (1-based). A file whose test or describe shares a line with another statement, or whose title
// is not a plain string, cannot be split.
"use strict";

const fs = require("node:fs");

const request = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const ts = require(request.typescript);
const TESTS = new Set(["it", "test"]);
const BLOCKS = new Set(["describe", "suite"]);
const MODIFIERS = new Set(["only", "skip", "concurrent", "sequential", "fails"]);

function parse(file) {
  const text = fs.readFileSync(file, "utf8");
  const kind = /\.(tsx|jsx)$/.test(file) ? ts.ScriptKind.TSX : ts.ScriptKind.Unknown;
  return ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
}

function lineOf(sf, pos) {
  return sf.getLineAndCharacterOfPosition(pos).line + 1;
}

// "it", "describe" (or null) for `it(…)`, `it.skip(…)`, `describe.only(…)`; "each" for `it.each`
function calleeKind(callee) {
  if (ts.isIdentifier(callee)) {
    if (TESTS.has(callee.text)) return "test";
    if (BLOCKS.has(callee.text)) return "block";
    return null;
  }
  if (ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression)) {
    const base = calleeKind(callee.expression);
    if (base === null) return null;
    if (MODIFIERS.has(callee.name.text)) return base;
    return "each";
  }
  if (ts.isCallExpression(callee)) {
    return calleeKind(callee.expression) === null ? null : "each"; // it.each([...])("…")
  }
  return null;
}

function titleOf(arg) {
  if (arg && (ts.isStringLiteral(arg) || ts.isNoSubstitutionTemplateLiteral(arg))) return arg.text;
  return null;
}

function splitFile(sf) {
  const tests = [];
  const blocks = [];
  const taken = new Map(); // line -> how many statements start or end on it
  const mark = (first, last) => {
    for (const line of new Set([first, last])) taken.set(line, (taken.get(line) || 0) + 1);
  };
  let problem = null;

  function visitStatements(statements, titles) {
    let previousLast = 0;
    for (const statement of statements) {
      const first = lineOf(sf, statement.getStart(sf));
      const last = lineOf(sf, statement.getEnd());
      if (first === previousLast) mark(first, first); // two statements on one line
      previousLast = last;
      mark(first, last);
      if (!ts.isExpressionStatement(statement) || !ts.isCallExpression(statement.expression)) {
        continue;
      }
      const call = statement.expression;
      const kind = calleeKind(call.expression);
      if (kind === null) continue;
      const title = titleOf(call.arguments[0]);
      if (kind === "each" || title === null) {
        problem = problem || `a test or describe at line ${first} has no plain string title`;
        continue;
      }
      const name = [...titles, title].join(" > ");
      if (kind === "test") {
        tests.push({ name, first, last });
        continue;
      }
      blocks.push({ name, first, last });
      const body = call.arguments[1];
      if (
        body &&
        (ts.isArrowFunction(body) || ts.isFunctionExpression(body)) &&
        ts.isBlock(body.body)
      ) {
        visitStatements(body.body.statements, [...titles, title]);
      } else {
        problem = problem || `the describe at line ${first} has no function body`;
      }
    }
  }

  visitStatements(sf.statements, []);
  const names = new Set();
  for (const entry of [...tests, ...blocks]) {
    if (taken.get(entry.first) > 1 || taken.get(entry.last) > 1) {
      problem = problem || `the test or describe at line ${entry.first} shares a line`;
    }
  }
  for (const test of tests) {
    if (names.has(test.name)) problem = problem || `two tests are named "${test.name}"`;
    names.add(test.name);
  }
  return problem ? { tests: [], blocks: [], problem } : { tests, blocks };
}

// [first, last, qualified name] of each function, method and function-valued variable
function functionsOf(sf) {
  const found = [];
  const visit = (node, prefix) => {
    let name = null;
    if (
      (ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) ||
        ts.isGetAccessor(node) || ts.isSetAccessor(node)) &&
      node.name && (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name))
    ) {
      name = node.name.text;
    } else if (ts.isConstructorDeclaration(node)) {
      name = "constructor";
    } else if (
      (ts.isVariableDeclaration(node) || ts.isPropertyDeclaration(node) ||
        ts.isPropertyAssignment(node)) &&
      node.name && ts.isIdentifier(node.name) && node.initializer &&
      (ts.isArrowFunction(node.initializer) || ts.isFunctionExpression(node.initializer))
    ) {
      name = node.name.text;
    }
    if (ts.isClassDeclaration(node) || ts.isClassExpression(node)) {
      const own = node.name ? node.name.text : "(class)";
      ts.forEachChild(node, (child) => visit(child, `${prefix}${own}.`));
      return;
    }
    if (name !== null) {
      found.push([lineOf(sf, node.getStart(sf)), lineOf(sf, node.getEnd()), prefix + name]);
      ts.forEachChild(node, (child) => visit(child, `${prefix}${name}.`));
      return;
    }
    ts.forEachChild(node, (child) => visit(child, prefix));
  };
  visit(sf, "");
  return found;
}

const out = { files: {}, functions: {} };
for (const entry of request.files || []) {
  try {
    out.files[entry.path] = splitFile(parse(entry.file));
  } catch (error) {
    out.files[entry.path] = { tests: [], blocks: [], problem: `not parsed: ${error.message}` };
  }
}
for (const entry of request.sources || []) {
  try {
    out.functions[entry.path] = functionsOf(parse(entry.file));
  } catch (error) {
    out.functions[entry.path] = [];
  }
}
fs.writeFileSync(request.out, JSON.stringify(out));
