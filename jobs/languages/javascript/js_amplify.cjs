// What test amplification (js_amplify.py) varies and observes in JS/TS test files, read with the
// TypeScript compiler API (parsed, never run): each chosen test's literal sites (the inputs it
// passes, never the expected side of a matcher) and its `expect(...)` calls, every test and
// describe statement (what the probe and the written file leave out), and the literals of the
// changed sources' changed lines (the change's own values, tried first).
//
// Run by Node in the sandbox: `node js_amplify.cjs REQUEST.json`, where the request is
// {"typescript": "<folder of the typescript package>", "out": "<abs path>",
//  "files": [{"path": "<checkout-relative>", "file": "<abs path>", "tests": ["d > title", ...]
//             (or null: every test)}],
//  "sources": [{"file": "<abs path>", "lines": [1-based changed lines]}]}.
// It writes one JSON object to `out`: {"strings": [...], "numbers": [...], "lengths": [...]
// (the numbers a changed line compares a `.length` with), "files": {path:
// {"esm": bool, "prelude": offset, "statements": [unit], "tests": [test]} or {"problem": why}}}.
// Offsets are UTF-16 code units into the file's text, as the compiler counts them. A unit is
// {"kind": "test" | "block" | "other", "name", "start", "end", "children": [unit]}; a test is
// {"name", "start", "end", "title": [start, end], "size", "sites": [site], "expects": [expect]}.
"use strict";

const fs = require("node:fs");

const request = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const ts = require(request.typescript);
const TESTS = new Set(["it", "test"]);
const BLOCKS = new Set(["describe", "suite"]);
const MODIFIERS = new Set(["only", "concurrent", "sequential"]);
const MAX_SITES = 40;
const MAX_ELEMENTS = 8;
const MAX_TOKENS = 12;

function parse(file) {
  const text = fs.readFileSync(file, "utf8");
  const kind = /\.(tsx|jsx)$/.test(file) ? ts.ScriptKind.TSX : ts.ScriptKind.Unknown;
  return ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
}

// "test" or "block" for `it(…)`, `it.only(…)`, `describe(…)`; "other" for `it.each`, `it.skip`
// and the like (no plain test to vary; the written file leaves them out); null for no test
function calleeKind(callee) {
  if (ts.isIdentifier(callee)) {
    if (TESTS.has(callee.text)) return "test";
    if (BLOCKS.has(callee.text)) return "block";
    return null;
  }
  if (ts.isPropertyAccessExpression(callee)) {
    const base = calleeKind(callee.expression);
    if (base === null) return null;
    return MODIFIERS.has(callee.name.text) && base !== "other" ? base : "other";
  }
  if (ts.isCallExpression(callee)) return calleeKind(callee.expression) === null ? null : "other";
  return null;
}

function titleOf(arg) {
  if (arg && (ts.isStringLiteral(arg) || ts.isNoSubstitutionTemplateLiteral(arg))) return arg.text;
  return null;
}

function functionArg(call) {
  const body = call.arguments[1];
  if (body && (ts.isArrowFunction(body) || ts.isFunctionExpression(body))) return body;
  return null;
}

// `expect(x)`'s chain: the outermost call of `expect(x).not.toBe(y)` and the names between
function chainOf(call) {
  let node = call;
  const names = [];
  let outer = null;
  while (node.parent) {
    const parent = node.parent;
    if (ts.isPropertyAccessExpression(parent) && parent.expression === node) {
      names.push(parent.name.text);
      node = parent;
    } else if (ts.isCallExpression(parent) && parent.expression === node && names.length) {
      outer = parent;
      node = parent;
      break;
    } else {
      break;
    }
  }
  return { names, outer };
}

function isExpectCall(node) {
  return (
    ts.isCallExpression(node) &&
    ts.isIdentifier(node.expression) &&
    node.expression.text === "expect" &&
    node.arguments.length >= 1
  );
}

function collectTest(sf, fn) {
  const sites = [];
  const expects = [];
  const expected = new Set(); // the matchers' argument nodes: the expected side, never varied
  const visitExpects = (node) => {
    if (isExpectCall(node)) {
      const { names, outer } = chainOf(node);
      const at = sf.getLineAndCharacterOfPosition(node.getStart(sf));
      const entry = {
        start: node.expression.getStart(sf),
        end: node.expression.getEnd(),
        arg: [node.arguments[0].getStart(sf), node.arguments[0].getEnd()],
        line: at.line + 1,
        column: at.character + 1,
        modifiers: names.slice(0, -1),
        matcher: names.length ? names[names.length - 1] : "",
        tail: outer ? [node.getEnd(), outer.getEnd()] : null,
        statement: null,
      };
      let top = outer || node;
      if (top.parent && ts.isAwaitExpression(top.parent)) top = top.parent;
      if (top.parent && ts.isExpressionStatement(top.parent)) {
        entry.statement = [top.parent.getStart(sf), top.parent.getEnd()];
      }
      if (outer) for (const a of outer.arguments) expected.add(a);
      expects.push(entry);
    }
    ts.forEachChild(node, visitExpects);
  };
  visitExpects(fn.body);
  const site = (node, kind, extra) => {
    if (sites.length < MAX_SITES) {
      sites.push({ kind, start: node.getStart(sf), end: node.getEnd(), text: node.getText(sf), ...extra });
    }
  };
  const visit = (node) => {
    if (expected.has(node)) return;
    if (ts.isImportDeclaration(node) || ts.isTypeNode(node)) return;
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "require") return;
    const parent = node.parent;
    const isName =
      parent &&
      (ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent) || ts.isMethodDeclaration(parent)) &&
      parent.name === node;
    if (!isName) {
      if (
        ts.isPrefixUnaryExpression(node) &&
        node.operator === ts.SyntaxKind.MinusToken &&
        ts.isNumericLiteral(node.operand)
      ) {
        site(node, "number", { value: -Number(node.operand.text) });
        return;
      }
      if (ts.isNumericLiteral(node)) {
        site(node, "number", { value: Number(node.text) });
        return;
      }
      if (parent && (ts.isJsxAttribute(parent) || ts.isLiteralTypeNode(parent))) return;
      if (ts.isNoSubstitutionTemplateLiteral(node) && parent && ts.isTaggedTemplateExpression(parent)) {
        site(node, "template", { value: node.text }); // a tag's template stays a template
        return;
      }
      if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
        site(node, "string", { value: node.text });
        return;
      }
      if (node.kind === ts.SyntaxKind.TrueKeyword || node.kind === ts.SyntaxKind.FalseKeyword) {
        site(node, "boolean", { value: node.kind === ts.SyntaxKind.TrueKeyword });
        return;
      }
      if (node.kind === ts.SyntaxKind.NullKeyword) {
        site(node, "null", {});
        return;
      }
      if (ts.isIdentifier(node) && node.text === "undefined" && !(parent && ts.isPropertyAccessExpression(parent))) {
        site(node, "undefined", {});
        return;
      }
      if (ts.isArrayLiteralExpression(node) && node.elements.length && node.elements.length <= MAX_ELEMENTS) {
        if (!node.elements.some((e) => ts.isSpreadElement(e) || ts.isOmittedExpression(e))) {
          site(node, "array", { elements: node.elements.map((e) => e.getText(sf)) });
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(fn.body);
  return { sites, expects };
}

function readFile(entry) {
  const sf = parse(entry.file);
  const wanted = entry.tests ? new Set(entry.tests) : null; // null: every test
  const tests = [];
  let esm = /\.m[jt]s$/.test(entry.file) || /\.tsx?$/.test(entry.file);
  let prelude = 0;
  for (const statement of sf.statements) {
    if (ts.isImportDeclaration(statement)) {
      esm = true;
      prelude = statement.getEnd();
    }
  }
  if (!prelude) {
    const first = sf.statements.find(
      (s) => !(ts.isExpressionStatement(s) && ts.isStringLiteral(s.expression)), // "use strict"
    );
    prelude = first ? first.getStart(sf) : sf.getEnd();
    const directive = sf.statements.find((s) => ts.isExpressionStatement(s) && ts.isStringLiteral(s.expression));
    if (directive && directive.getEnd() > prelude) prelude = directive.getEnd();
  }
  function units(statements, titles) {
    const found = [];
    for (const statement of statements) {
      if (!ts.isExpressionStatement(statement) || !ts.isCallExpression(statement.expression)) continue;
      const call = statement.expression;
      const kind = calleeKind(call.expression);
      if (kind === null) continue;
      const title = titleOf(call.arguments[0]);
      const unit = {
        kind,
        name: "",
        start: statement.getFullStart(),
        own: statement.getStart(sf),
        end: statement.getEnd(),
        children: [],
      };
      found.push(unit);
      if (kind === "other" || title === null) {
        unit.kind = "other";
        continue;
      }
      unit.name = [...titles, title].join(" > ");
      const fn = functionArg(call);
      if (kind === "block") {
        if (fn && ts.isBlock(fn.body)) unit.children = units(fn.body.statements, [...titles, title]);
        else unit.kind = "other";
        continue;
      }
      if (fn && (wanted === null || wanted.has(unit.name))) {
        const title = call.arguments[0];
        tests.push({
          name: unit.name,
          start: statement.getStart(sf),
          end: statement.getEnd(),
          title: [title.getStart(sf), title.getEnd()],
          size: statement.getEnd() - statement.getStart(sf),
          ...collectTest(sf, fn),
        });
      }
    }
    return found;
  }
  const statements = units(sf.statements, []);
  return { esm, prelude, statements, tests };
}

// A number a comparison holds against a `.length` (`match[0].trim().length <= 3`): a length,
// which a test's strings reach by their own length, not by a number of theirs
function comparedLength(node) {
  const parent = node.parent;
  if (!parent || !ts.isBinaryExpression(parent)) return false;
  const op = parent.operatorToken.kind;
  const comparisons = [
    ts.SyntaxKind.LessThanToken, ts.SyntaxKind.LessThanEqualsToken,
    ts.SyntaxKind.GreaterThanToken, ts.SyntaxKind.GreaterThanEqualsToken,
    ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.EqualsEqualsToken,
    ts.SyntaxKind.ExclamationEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsToken,
  ]; // prettier-ignore
  if (!comparisons.includes(op)) return false;
  const other = parent.left === node ? parent.right : parent.left;
  return ts.isPropertyAccessExpression(other) && other.name.text === "length";
}

// The literals on the changed lines of the changed sources: the change's own values
function changeLiterals(sources) {
  const strings = [];
  const numbers = [];
  const lengths = [];
  for (const source of sources) {
    let sf;
    try {
      sf = parse(source.file);
    } catch (e) {
      continue;
    }
    const lines = new Set(source.lines);
    const visit = (node) => {
      const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
      if (lines.has(line)) {
        if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) strings.push(node.text);
        else if (ts.isNumericLiteral(node)) {
          numbers.push(Number(node.text));
          if (comparedLength(node)) lengths.push(Number(node.text));
        }
        else if (ts.isRegularExpressionLiteral(node)) {
          // a regex's literal characters: what it matches or refuses
          for (const m of node.text.matchAll(/\\(.)|([^\\\[\](){}|^$*+?.\/])/g)) strings.push(m[1] || m[2]);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  const unique = (xs) => [...new Set(xs)].slice(0, MAX_TOKENS);
  return {
    strings: unique(strings.filter((s) => s.length <= 20)),
    numbers: unique(numbers.filter(Number.isFinite)),
    lengths: unique(lengths.filter((n) => Number.isInteger(n) && n >= 0 && n <= 64)),
  };
}

const out = { files: {}, ...changeLiterals(request.sources || []) };
for (const entry of request.files) {
  try {
    out.files[entry.path] = readFile(entry);
  } catch (e) {
    out.files[entry.path] = { problem: String((e && e.message) || e).slice(0, 300) };
  }
}
fs.writeFileSync(request.out, JSON.stringify(out));
