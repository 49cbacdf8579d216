// The mutants of the changed lines of JS/TS sources, made with the TypeScript compiler API
// (parsed, never run): the same operators as Python's (jobs/testgen/proof/mutants.py).
//
// Run by Node in the sandbox: `node mutate.cjs REQUEST.json`, where the request is
// {"typescript": "<folder of the typescript package>", "out": "<where the JSON goes>",
//  "files": [{"path": "<checkout-relative>", "file": "<abs path>", "changed": [line, ...]}]}.
// It writes one JSON object (to stdout without "out"): {"mutants": [...], "equivalent": n, "problems": [...],
// "schemata": {path: text}}. Each mutant: {path, line, first, last, start, end, function, kind,
// description, text, schema}: the lines start..end (1-based, whole lines) of the file are
// replaced by `text`; a test that ran any of first..last (its statement's first line to the
// mutated code's last) ran the mutant.
//
// A file's schema (Stryker's mutant schemata) holds all its mutants at once, each behind a
// switch `globalThis.__tandemMutant === <schema>`: with no switch set it is the file itself, so
// one runner process can run many mutants (js_mutants.py). A mutant is left out of it (its
// `schema` null, run in a process of its own) where a switch cannot stand in for its node: a
// module-level value (evaluated once, as the module loads), a property name, a directive, a
// JSX attribute, an enum member, or where the schema with its switch does not parse.
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
// as each test file loads the module, and such a mutant runs in a runner process of its own (the
// schema leaves it out), so it is mutated like a function's code (Python's module bodies run
// once per session, and are not).
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
  const switches = [];
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
        const mutant = {
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
          schema: null,
        };
        found.push(mutant);
        if (switchable(target)) {
          const statement = isSwitchedStatement(target);
          switches.push({ mutant, from, to: target.end, replacement, statement, lead: leads(target) });
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { found, equivalent, schema: schemaOf(entry, text, switches) };
}

// --- mutant schemata ----------------------------------------------------------------------

const SWITCH = "globalThis.__tandemMutant";

function isSwitchedStatement(node) {
  return ts.isReturnStatement(node) || ts.isExpressionStatement(node) || ts.isThrowStatement(node);
}

// Whether a switch can stand in for the node: an expression where any expression may be, or a
// statement of a function's body. A module-level value runs once as the module loads, before
// a test file could set the switch: it keeps its process of its own.
function switchable(node) {
  if (inModuleVariable(node) && enclosingFunction(node) === null) return false;
  const parent = node.parent;
  if (!parent) return false;
  if (ts.isExpressionStatement(node) && ts.isStringLiteral(node.expression)) return false; // a directive
  if (isSwitchedStatement(node)) return true;
  if (parent.name === node) return false; // a property, member or enum name
  if (ts.isEnumMember(parent) || ts.isJsxAttribute(parent) || ts.isComputedPropertyName(parent)) {
    return false;
  }
  if (ts.isLiteralTypeNode(parent) || ts.isExternalModuleReference(parent)) return false;
  return ts.isExpression(node);
}

// Whether the node starts an expression statement in a list of statements: its switch starts
// with `(`, which would call the value of a previous line without a semicolon.
function leads(node) {
  const statement = statementOf(node);
  return (
    ts.isExpressionStatement(statement) &&
    statement !== node &&
    statement.getStart() === node.getStart() &&
    (ts.isBlock(statement.parent) ||
      ts.isSourceFile(statement.parent) ||
      ts.isCaseClause(statement.parent) ||
      ts.isDefaultClause(statement.parent) ||
      ts.isModuleBlock(statement.parent))
  );
}

// An active switch also counts its hits (HIT, which the test file's copy defines): a mutant that
// loops forever throws past a limit instead of hanging its batch's whole run (Stryker's hit
// limit), and is counted as a hang, not a kill.
const HIT = "globalThis.__tandemHit()";

function switched(group, inner) {
  const [first] = group;
  if (first.statement) {
    const branches = group.map((s) => `if (${SWITCH} === ${s.id} && ${HIT}) { ${s.replacement} }`);
    return `{ ${branches.join(" else ")} else { ${inner} } }`;
  }
  const branches = group.map((s) => `${SWITCH} === ${s.id} && ${HIT} ? (${s.replacement}) : `);
  return `${first.lead ? ";" : ""}(${branches.join("")}(${inner}))`;
}

// The text with the switches of `switches` (nested or apart, as AST nodes are; a statement's
// switch outside an expression's of the same span).
function withSwitches(text, switches) {
  const sorted = switches
    .slice()
    .sort((a, b) => a.from - b.from || b.to - a.to || Number(b.statement) - Number(a.statement));
  const build = (lo, hi, items) => {
    let out = "";
    let cursor = lo;
    let i = 0;
    while (i < items.length) {
      const head = items[i];
      const group = [head];
      let j = i + 1;
      while (
        j < items.length &&
        items[j].from === head.from &&
        items[j].to === head.to &&
        items[j].statement === head.statement
      ) {
        group.push(items[j++]);
      }
      const inside = [];
      while (j < items.length && items[j].from >= head.from && items[j].to <= head.to) {
        inside.push(items[j++]);
      }
      out += text.slice(cursor, head.from) + switched(group, build(head.from, head.to, inside));
      cursor = head.to;
      i = j;
    }
    return out + text.slice(cursor, hi);
  };
  return build(0, text.length, sorted);
}

function parses(entry, text) {
  const kind = /\.(tsx|jsx)$/.test(entry.file) ? ts.ScriptKind.TSX : ts.ScriptKind.Unknown;
  const sf = ts.createSourceFile(entry.file, text, ts.ScriptTarget.Latest, false, kind);
  return sf.parseDiagnostics.length === 0;
}

let nextSwitch = 1;

// The file's schema, or null; each mutant in it gets its switch's number.
function schemaOf(entry, text, switches) {
  if (switches.length === 0 || !parses(entry, text)) return null;
  for (const s of switches) s.id = nextSwitch++;
  // a mutant whose switch alone does not parse stays out (it runs in a process of its own)
  const fit = switches.filter((s) => parses(entry, withSwitches(text, [s])));
  let schema = withSwitches(text, fit);
  if (!parses(entry, schema)) return null;
  // a TypeScript file's switches may not type-check (ts-jest checks): the schema is not checked
  if (/\.[cm]?tsx?$/.test(entry.file)) schema = "// @ts-nocheck\n" + schema;
  for (const s of fit) s.mutant.schema = s.id;
  return schema;
}

const out = { mutants: [], equivalent: 0, problems: [], schemata: {} };
for (const entry of request.files) {
  try {
    const { found, equivalent, schema } = mutantsOf(entry);
    out.mutants.push(...found);
    out.equivalent += equivalent;
    if (schema !== null) out.schemata[entry.path] = schema;
  } catch (error) {
    out.problems.push(`\`${entry.path}\` not mutated: ${error && error.message}`);
  }
}
// to a file when asked: a sandbox keeps only the end of a long output (the schemata are long)
if (request.out) fs.writeFileSync(request.out, JSON.stringify(out));
else process.stdout.write(JSON.stringify(out));
