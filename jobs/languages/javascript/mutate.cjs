// The mutants of the changed lines of JS/TS sources, made with the TypeScript compiler API
// (parsed, never run): the same operators as Python's (jobs/testgen/proof/mutants.py).
//
// Run by Node in the sandbox: `node mutate.cjs REQUEST.json`, where the request is
// {"typescript": "<folder of the typescript package>",
//  "files": [{"path": "<checkout-relative>", "file": "<abs path>", "changed": [line, ...]}]}.
// It prints one JSON object: {"mutants": [...], "equivalent": n, "problems": [...]}. Each mutant:
// {path, line, first, last, start, end, function, kind, description, text}: the lines
// start..end (1-based, whole lines) of the file are replaced by `text`; a test that ran any of
// first..last (its statement's first line to the mutated code's last) ran the mutant.
"use strict";

const fs = require("node:fs");

const request = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const ts = require(request.typescript);
const MAX_SHOWN = 60;
const K = ts.SyntaxKind;
const COMPARISONS = new Map([
  [K.GreaterThanToken, ">="],
  [K.GreaterThanEqualsToken, ">"],
  [K.LessThanToken, "<="],
  [K.LessThanEqualsToken, "<"],
  [K.EqualsEqualsEqualsToken, "!=="],
  [K.ExclamationEqualsEqualsToken, "==="],
  [K.EqualsEqualsToken, "!="],
  [K.ExclamationEqualsToken, "=="],
]);
const BOOLEANS = new Map([
  [K.AmpersandAmpersandToken, "||"],
  [K.BarBarToken, "&&"],
]);
const ARITHMETIC = new Map([
  [K.PlusToken, "-"],
  [K.MinusToken, "+"],
  [K.AsteriskToken, "/"],
  [K.SlashToken, "*"],
  [K.PercentToken, "*"],
  [K.LessThanLessThanToken, ">>"],
  [K.GreaterThanGreaterThanToken, "<<"],
  [K.AmpersandToken, "|"],
  [K.BarToken, "&"],
  [K.PlusEqualsToken, "-="],
  [K.MinusEqualsToken, "+="],
]);

function shown(text) {
  const flat = text.split(/\s+/).join(" ");
  return flat.length <= MAX_SHOWN ? flat : flat.slice(0, MAX_SHOWN - 1) + "…";
}

function isFunction(node) {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isFunctionExpression(node) ||
    ts.isArrowFunction(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node) ||
    ts.isConstructorDeclaration(node)
  );
}

function functionName(node) {
  if (ts.isConstructorDeclaration(node)) return "constructor";
  if (node.name && ts.isIdentifier(node.name)) return node.name.text;
  if (node.name) return node.name.getText();
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) {
    return parent.name.text;
  }
  if (parent && ts.isPropertyAssignment(parent)) return parent.name.getText();
  return "(anonymous)";
}

function qualified(node) {
  const names = [];
  for (let at = node; at; at = at.parent) {
    if (isFunction(at)) names.unshift(functionName(at));
    else if (ts.isClassLike(at) && at.name) names.unshift(at.name.text);
  }
  return names.join(".");
}

function enclosingFunction(node) {
  for (let at = node.parent; at; at = at.parent) if (isFunction(at)) return at;
  return null;
}

function statementOf(node) {
  for (let at = node; at; at = at.parent) if (ts.isStatement(at) || ts.isClassElement(at)) return at;
  return node;
}

// The mutations of one node: [node, replacement text, kind, description].
function mutations(node, sf) {
  const found = [];
  const text = node.getText(sf);
  const becomes = (to) => `\`${shown(text)}\` becomes \`${shown(to)}\``;
  const swap = (kind, token, to) => {
    const left = node.left.getText(sf);
    const right = node.right.getText(sf);
    const after = `(${left} ${to} ${right})`;
    found.push([node, after, kind, becomes(after)]);
  };
  if (ts.isBinaryExpression(node)) {
    const op = node.operatorToken.kind;
    if (COMPARISONS.has(op)) swap("comparison", op, COMPARISONS.get(op));
    else if (BOOLEANS.has(op)) swap("boolean", op, BOOLEANS.get(op));
    else if (ARITHMETIC.has(op)) swap("arithmetic", op, ARITHMETIC.get(op));
  } else if (ts.isPrefixUnaryExpression(node) && node.operator === K.ExclamationToken) {
    const operand = node.operand.getText(sf);
    found.push([node, `(${operand})`, "boolean", becomes(operand)]);
  } else if (ts.isNumericLiteral(node) && !isTypePosition(node)) {
    const value = Number(node.text);
    if (Number.isFinite(value)) {
      for (const other of [value + 1, value - 1]) {
        if (other >= 0) found.push([node, String(other), "constant", becomes(String(other))]);
      }
    }
  } else if (node.kind === K.TrueKeyword || node.kind === K.FalseKeyword) {
    const other = node.kind === K.TrueKeyword ? "false" : "true";
    found.push([node, other, "constant", becomes(other)]);
  } else if (ts.isStringLiteral(node) && node.text !== "" && !isTypePosition(node)) {
    if (!isModuleName(node)) found.push([node, '""', "constant", becomes('""')]);
  } else if (ts.isReturnStatement(node) && node.expression) {
    found.push([node, "return undefined;", "return", becomes("return undefined;")]);
  } else if (ts.isExpressionStatement(node) || ts.isThrowStatement(node)) {
    found.push([node, ";", "statement", `\`${shown(text)}\` is removed`]);
  } else if (ts.isVariableDeclaration(node) && node.initializer && !isUndefined(node.initializer)) {
    // the declaration can't be removed as Python's assignment is (its name would be unbound):
    // its value is lost instead; a function's value is left, its body has its own mutants
    if (!isFunctionValue(node.initializer)) {
      const init = node.initializer.getText(sf);
      found.push([node.initializer, "undefined", "statement", `\`${shown(init)}\` becomes \`undefined\``]);
    }
  } else if (ts.isForOfStatement(node) || ts.isForInStatement(node)) {
    // the loop runs no iteration: what Python's removed statement is to a loop's work
    const none = ts.isForOfStatement(node) ? "[]" : "{}";
    const over = node.expression.getText(sf);
    found.push([node.expression, none, "statement", `\`${shown(over)}\` becomes \`${none}\``]);
  }
  const condition = conditionOf(node);
  if (condition) {
    const cond = condition.getText(sf);
    found.push([condition, `!(${cond})`, "condition", `\`${shown(cond)}\` becomes \`!(${shown(cond)})\``]);
    if (!ts.isConditionalExpression(node)) {
      found.push([condition, "true", "condition", `\`${shown(cond)}\` becomes \`true\``]);
    }
  }
  return found;
}

function conditionOf(node) {
  if (ts.isIfStatement(node) || ts.isWhileStatement(node) || ts.isDoStatement(node)) {
    return node.expression;
  }
  if (ts.isConditionalExpression(node)) return node.condition;
  return null;
}

function isUndefined(node) {
  return (ts.isIdentifier(node) && node.text === "undefined") || ts.isVoidExpression(node);
}

function isFunctionValue(node) {
  let at = node;
  while (ts.isParenthesizedExpression(at) || ts.isAsExpression(at)) at = at.expression;
  return ts.isFunctionExpression(at) || ts.isArrowFunction(at) || ts.isClassExpression(at);
}

// A node in a module-level variable's declaration (`const RE = /…/`, `let limit = 10`): it runs
// as each test file loads the module, and every mutant runs in a fresh runner process, so it is
// mutated like a function's code (Python's module bodies run once per session, and are not).
function inModuleVariable(node) {
  for (let at = node; at; at = at.parent) {
    if (isFunction(at) || ts.isClassLike(at)) return false;
    if (ts.isVariableDeclaration(at)) return at.initializer !== undefined && at.name !== node;
  }
  return false;
}

function isTypePosition(node) {
  for (let at = node.parent; at; at = at.parent) {
    if (ts.isTypeNode(at)) return true;
    if (ts.isStatement(at) || ts.isExpression(at)) return false;
  }
  return false;
}

function isModuleName(node) {
  const parent = node.parent;
  return (
    ts.isImportDeclaration(parent) ||
    ts.isExportDeclaration(parent) ||
    (ts.isCallExpression(parent) &&
      (parent.expression.kind === K.ImportKeyword ||
        (ts.isIdentifier(parent.expression) && parent.expression.text === "require")))
  );
}

function lineOf(sf, pos) {
  return sf.getLineAndCharacterOfPosition(pos).line + 1;
}

function mutantsOf(entry) {
  const text = fs.readFileSync(entry.file, "utf8");
  const kind = /\.(tsx|jsx)$/.test(entry.file) ? ts.ScriptKind.TSX : ts.ScriptKind.Unknown;
  const sf = ts.createSourceFile(entry.file, text, ts.ScriptTarget.Latest, true, kind);
  const changed = new Set(entry.changed);
  const lineStarts = sf.getLineStarts();
  const found = [];
  let equivalent = 0;
  const visit = (node) => {
    const start = node.getStart(sf);
    const line = lineOf(sf, start);
    if (changed.has(line) && (enclosingFunction(node) !== null || inModuleVariable(node))) {
      for (const [target, replacement, kind, description] of mutations(node, sf)) {
        const from = target.getStart(sf);
        const first = lineOf(sf, from);
        const last = lineOf(sf, target.end);
        const lineStart = lineStarts[first - 1];
        const lineEnd = last < lineStarts.length ? lineStarts[last] - 1 : text.length;
        const before = text.slice(lineStart, lineEnd);
        const after = text.slice(lineStart, from) + replacement + text.slice(target.end, lineEnd);
        if (after === before) {
          equivalent += 1;
          continue;
        }
        found.push({
          path: entry.path,
          line,
          first: lineOf(sf, statementOf(node).getStart(sf)),
          last,
          start: first,
          end: last,
          function: qualified(node),
          kind,
          description,
          text: after,
        });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { found, equivalent };
}

const out = { mutants: [], equivalent: 0, problems: [] };
for (const entry of request.files) {
  try {
    const { found, equivalent } = mutantsOf(entry);
    out.mutants.push(...found);
    out.equivalent += equivalent;
  } catch (error) {
    out.problems.push(`\`${entry.path}\` not mutated: ${error && error.message}`);
  }
}
process.stdout.write(JSON.stringify(out));
