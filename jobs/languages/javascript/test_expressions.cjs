// The expressions the package's tests already check that reach a changed member, made
// self-contained: `expect(fromISOs("1999-01-01", "1999-01-03").count("days"))` becomes the
// expression with its rows' literals put in, the test file's imports it uses, and the local
// helpers it calls (`const fromISOs = (s, e) => …`). A test of a class with state starts from
// how the project's own tests build it. Used by export_scan.cjs:
// `require("./test_expressions.cjs")(ts)`.
"use strict";

const MAX_EXPRESSIONS = 40; // per changed name
const MAX_TEXT = 600; // characters of one expression with its rows put in
const MAX_DEPTH = 2; // helpers that call helpers
const MAX_STEPS = 8; // statements that build a helper's value
// Globals an expression may use as they are (a non-deterministic one, `Date.now()`, makes the
// probe's two calls differ, and the call is dropped there)
const GLOBALS = new Set([
  "Math", "JSON", "Number", "String", "Boolean", "Array", "Object", "Date", "RegExp", "Map",
  "Set", "BigInt", "Symbol", "Error", "TypeError", "RangeError", "parseInt", "parseFloat",
  "encodeURIComponent", "decodeURIComponent", "encodeURI", "decodeURI", "URL", "URLSearchParams",
  "undefined", "NaN", "Infinity", "Intl", "Promise",
]); // prettier-ignore

module.exports = function testExpressions(ts) {
  const { isLiteral, primitive, unwrap, resolve, rowsAround } = require("./literal_rows.cjs")(ts);

  function lineOf(sf, pos) {
    return sf.getLineAndCharacterOfPosition(pos).line + 1;
  }

  // The class members (methods, accessors, arrow properties) whose body holds a changed line.
  // A constructor is named by its class (`constructor: true`: the tests reach it as `new
  // Class(…)`, or through a subclass); a private member (`#createRange`, `private: true`)
  // only through the members that call it (inner_callers.cjs's thisCallers)
  function changedMembers(sf, changed) {
    const found = [];
    const visit = (node) => {
      if (ts.isClassDeclaration(node) || ts.isClassExpression(node)) {
        for (const member of node.members) {
          const line = lineOf(sf, member.getStart());
          const end = lineOf(sf, member.getEnd());
          if (![...changed].some((l) => l >= line && l <= end)) continue;
          if (ts.isConstructorDeclaration(member) && node.name) {
            found.push({ name: node.name.text, node: member, isConstructor: true });
          } else if (member.name && ts.isIdentifier(member.name)) {
            found.push({ name: member.name.text, node: member });
          } else if (member.name && ts.isPrivateIdentifier(member.name)) {
            found.push({ name: member.name.text, node: member, private: true });
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
    return found;
  }

  function requireOf(init) {
    init = unwrap(init);
    return init &&
      ts.isCallExpression(init) &&
      ts.isIdentifier(init.expression) &&
      init.expression.text === "require" &&
      init.arguments[0] &&
      ts.isStringLiteral(init.arguments[0])
      ? init.arguments[0].text
      : null;
  }

  // The test file's imports: name -> {spec, kind: named | default | namespace, imported}
  function importsOf(sf) {
    const map = new Map();
    for (const st of sf.statements) {
      if (ts.isImportDeclaration(st) && st.importClause && !st.importClause.isTypeOnly) {
        const spec = st.moduleSpecifier.text;
        const clause = st.importClause;
        if (clause.name) map.set(clause.name.text, { spec, kind: "default", imported: "default" });
        const named = clause.namedBindings;
        if (named && ts.isNamespaceImport(named)) {
          map.set(named.name.text, { spec, kind: "namespace", imported: "*" });
        } else if (named) {
          for (const el of named.elements) {
            if (el.isTypeOnly) continue;
            const imported = (el.propertyName || el.name).text;
            map.set(el.name.text, { spec, kind: "named", imported });
          }
        }
      } else if (ts.isVariableStatement(st)) {
        for (const decl of st.declarationList.declarations) {
          const spec = decl.initializer ? requireOf(decl.initializer) : null;
          if (spec === null) continue;
          if (ts.isIdentifier(decl.name)) {
            map.set(decl.name.text, { spec, kind: "namespace", imported: "*" });
          } else if (ts.isObjectBindingPattern(decl.name)) {
            for (const el of decl.name.elements) {
              if (!ts.isIdentifier(el.name)) continue;
              const imported = (el.propertyName || el.name).getText();
              map.set(el.name.text, { spec, kind: "named", imported });
            }
          }
        }
      }
    }
    return map;
  }

  function patternNames(pattern, into) {
    if (ts.isIdentifier(pattern)) into.add(pattern.text);
    else for (const el of pattern.elements || []) if (!ts.isOmittedExpression(el)) patternNames(el.name, into);
    return into;
  }

  function blockNames(block, into) {
    for (const st of block.statements) {
      if (ts.isVariableStatement(st)) {
        for (const decl of st.declarationList.declarations) patternNames(decl.name, into);
      } else if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st)) && st.name) {
        into.add(st.name.text);
      }
    }
    return into;
  }

  // The names an expression uses as values that nothing inside it binds: name -> [identifiers]
  function freeNames(root) {
    const found = new Map();
    const visit = (node, bound) => {
      if (ts.isTypeNode(node)) return;
      if (ts.isIdentifier(node)) {
        const p = node.parent;
        const isKey =
          (ts.isPropertyAccessExpression(p) && p.name === node) ||
          ((ts.isPropertyAssignment(p) || ts.isMethodDeclaration(p)) && p.name === node) ||
          (ts.isBindingElement(p) && p.propertyName === node);
        if (!isKey && !bound.has(node.text)) {
          if (!found.has(node.text)) found.set(node.text, []);
          found.get(node.text).push(node);
        }
        return;
      }
      let inner = bound;
      if (ts.isFunctionLike(node)) {
        inner = new Set(bound);
        if (node.name && ts.isIdentifier(node.name)) inner.add(node.name.text);
        for (const p of node.parameters || []) patternNames(p.name, inner);
      } else if (ts.isBlock(node)) {
        inner = blockNames(node, new Set(bound));
      }
      ts.forEachChild(node, (child) => visit(child, inner));
    };
    visit(root, new Set());
    return found;
  }

  // Where ``use`` sees a declaration of ``name``: a variable declaration or a function
  function localDeclaration(name, use) {
    for (let node = use.parent; node; node = node.parent) {
      for (const st of node.statements || []) {
        if (ts.isFunctionDeclaration(st) && st.name && st.name.text === name && st.body) return st;
        if (!ts.isVariableStatement(st)) continue;
        for (const decl of st.declarationList.declarations) {
          if (ts.isIdentifier(decl.name) && decl.name.text === name) return decl;
        }
      }
    }
    return null;
  }

  // The statements after a local `const name = …` that build its value before ``use`` sees it
  // (`map.set("z", 2)`, `obj.a = 1`, `list.push(x)`): a test that fills a Map checks the full
  // one. Expression statements of its block that call a method of the name or assign to a
  // property of it.
  function building(decl, name, use) {
    const statement = decl.parent && decl.parent.parent;
    const block = statement && statement.parent;
    if (!statement || !ts.isVariableStatement(statement) || !block || !block.statements) return [];
    const steps = [];
    for (const st of block.statements.slice(block.statements.indexOf(statement) + 1)) {
      if (st.getStart() <= use.getStart() && use.getEnd() <= st.getEnd()) break;
      if (st.getStart() > use.getStart()) break;
      if (!ts.isExpressionStatement(st)) continue;
      const e = unwrap(st.expression);
      // on the name itself, or down a chain of calls that starts there
      // (`program.exitOverride().allowExcessArguments(false)`)
      const onName = (target) => {
        if (!(ts.isPropertyAccessExpression(target) || ts.isElementAccessExpression(target))) {
          return false;
        }
        let root = target.expression;
        while (
          ts.isCallExpression(root) ||
          ts.isPropertyAccessExpression(root) ||
          ts.isElementAccessExpression(root)
        ) {
          root = root.expression;
        }
        return ts.isIdentifier(root) && root.text === name;
      };
      const isStep =
        (ts.isCallExpression(e) && onName(e.expression)) ||
        (ts.isBinaryExpression(e) &&
          e.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
          onName(e.left));
      if (isStep && steps.length < MAX_STEPS) steps.push(e);
    }
    return steps;
  }

  // Whether an identifier is written to: `x = …`, `x += …`, `x++`, `--x`
  function assigned(id) {
    const p = id.parent;
    if (ts.isBinaryExpression(p) && p.left === id) {
      const op = p.operatorToken.kind;
      return op >= ts.SyntaxKind.FirstAssignment && op <= ts.SyntaxKind.LastAssignment;
    }
    return (
      (ts.isPrefixUnaryExpression(p) || ts.isPostfixUnaryExpression(p)) &&
      [ts.SyntaxKind.PlusPlusToken, ts.SyntaxKind.MinusMinusToken].includes(p.operator)
    );
  }

  // The expression (or helper) as text that runs on its own: {text, imports, helpers}, or null
  function close(node, row, imports, depth, bound = new Set()) {
    const edits = [];
    const needed = new Map();
    const helpers = [];
    for (const [name, uses] of freeNames(node)) {
      if (bound.has(name)) continue; // the helper's own name, in a statement that builds it
      let value = row.has(name) ? row.get(name) : null;
      // a row's part that is no literal (`new TokenData(…)` of another module) has no place here
      if (value !== null && !isLiteral(value)) return null;
      // a local the test assigns to (`let seen; … seen = arg`) is its state, not a value to
      // put in: `"foo" = arg` would not even parse
      if (uses.some(assigned)) return null;
      if (value === null && imports.has(name)) {
        needed.set(name, imports.get(name));
        continue;
      }
      if (value === null && GLOBALS.has(name)) continue;
      if (value === null) {
        const decl = localDeclaration(name, uses[0]);
        const init = decl && ts.isVariableDeclaration(decl) ? unwrap(decl.initializer) : null;
        if (init && isLiteral(init)) {
          value = init;
        } else if (decl && depth < MAX_DEPTH && (ts.isFunctionDeclaration(decl) || init)) {
          const sub = close(ts.isFunctionDeclaration(decl) ? decl : init, new Map(), imports, depth + 1);
          if (!sub) return null;
          for (const [k, v] of sub.imports) needed.set(k, v);
          helpers.push(...sub.helpers);
          let text = ts.isFunctionDeclaration(decl) ? sub.text : `const ${name} = ${sub.text};`;
          for (const step of building(decl, name, uses[0])) {
            const closedStep = close(step, new Map(), imports, depth + 1, new Set([name]));
            if (!closedStep || closedStep.helpers.length) continue;
            for (const [k, v] of closedStep.imports) needed.set(k, v);
            text += `\n${closedStep.text};`;
          }
          helpers.push(text);
          continue;
        } else {
          return null;
        }
      }
      for (const use of uses) {
        const text = ts.isShorthandPropertyAssignment(use.parent)
          ? `${name}: ${value.getText()}`
          : value.getText();
        edits.push([use.getStart(), use.getEnd(), text]);
      }
    }
    let text = node.getText();
    const start = node.getStart();
    for (const [from, to, value] of edits.sort((a, b) => b[0] - a[0])) {
      text = text.slice(0, from - start) + value + text.slice(to - start);
    }
    return { text, imports: needed, helpers: [...new Set(helpers)] };
  }

  // The changed name an expression calls or reads, if any: a member (``names``) read or called
  // on anything, an exported function (``functions``) called by its name
  function mentioned(node, names, functions, ctors = new Map()) {
    let found = null;
    const visit = (n) => {
      if (found) return;
      if (ts.isPropertyAccessExpression(n) && names.has(n.name.text)) found = n.name.text;
      else if (ts.isNewExpression(n) && ts.isIdentifier(n.expression) && ctors.has(n.expression.text)) {
        found = ctors.get(n.expression.text); // a changed constructor, of its class or a subclass
      } else if (ts.isCallExpression(n) && ts.isIdentifier(n.expression)) {
        const name = n.expression.text;
        if (names.has(name) || functions.has(name)) found = name;
      }
      ts.forEachChild(n, visit);
    };
    visit(node);
    return found;
  }

  // A call of an exported function with literal arguments only: export_scan's literal calls
  // have it already, as arguments it can vary one at a time
  function literalCall(node, functions, row) {
    return (
      ts.isCallExpression(node) &&
      ts.isIdentifier(node.expression) &&
      functions.has(node.expression.text) &&
      node.arguments.every((a) => {
        const value = !ts.isSpreadElement(a) && resolve(a, row);
        return Boolean(value) && isLiteral(value);
      })
    );
  }

  // A closed expression that is itself a call of the group (`f(a, b)`, `x.m(a)`): its callee and
  // arguments as texts, which the engine recombines with another call's arguments (an option
  // bag of one test with the receiver of another); null for anything else
  function callParts(text, group, ctors = new Map()) {
    const sf = ts.createSourceFile("c.ts", `(${text})`, ts.ScriptTarget.Latest, true);
    const [statement] = sf.statements;
    const call = statement && ts.isExpressionStatement(statement) ? unwrap(statement.expression) : null;
    const isNew = call && ts.isNewExpression(call);
    if (!call || !(ts.isCallExpression(call) || isNew)) return null;
    const args = call.arguments || [];
    if (args.some(ts.isSpreadElement)) return null;
    const callee = call.expression;
    const name = ts.isIdentifier(callee)
      ? isNew ? ctors.get(callee.text) : callee.text
      : ts.isPropertyAccessExpression(callee) ? callee.name.text : null;
    if (name !== group) return null;
    // `new CronSecond` is the callee of a changed constructor's call (its class's subclass)
    const spelled = isNew ? `new ${callee.getText()}` : callee.getText();
    return { callee: spelled, args: args.map((a) => a.getText()) };
  }

  // `() => x` and `() => { return x; }` (what `expect(() => …).toThrow()` checks): x
  function checked(node) {
    node = unwrap(node);
    if (!ts.isArrowFunction(node) || node.parameters.length) return node;
    if (!ts.isBlock(node.body)) return unwrap(node.body);
    const [only] = node.body.statements;
    if (node.body.statements.length !== 1) return null;
    if (ts.isReturnStatement(only) && only.expression) return unwrap(only.expression);
    return ts.isExpressionStatement(only) ? unwrap(only.expression) : null;
  }

  // Where the primitive literals are in a text (statements with ``wrap``): [{part, start, end,
  // text}], offsets in the text itself
  function literalSpans(text, part, wrap) {
    const [before, after] = wrap;
    const sf = ts.createSourceFile("x.ts", before + text + after, ts.ScriptTarget.Latest, true);
    const spans = [];
    const visit = (n) => {
      if (primitive(n)) {
        const start = n.getStart() - before.length;
        spans.push({ part, start, end: n.getEnd() - before.length, text: n.getText() });
        return;
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
    return spans;
  }

  // The checked expressions of one test file that reach one of ``names`` (members) or call one
  // of ``functions`` (exported functions) other than with literal arguments alone
  // (``ctors``: the changed constructors' classes and subclasses by name -> the group)
  function expressionsIn(sf, names, counts, functions = new Set(), ctors = new Map()) {
    const isCallOf = (n) =>
      (ts.isCallExpression(n) &&
        ((ts.isIdentifier(n.expression) && functions.has(n.expression.text)) ||
          (ts.isPropertyAccessExpression(n.expression) && names.has(n.expression.name.text)))) ||
      (ts.isNewExpression(n) && ts.isIdentifier(n.expression) && ctors.has(n.expression.text));
    const imports = importsOf(sf);
    const out = [];
    const seen = new Set();
    const visit = (node) => {
      const isExpect =
        ts.isCallExpression(node) &&
        ts.isIdentifier(node.expression) &&
        node.expression.text === "expect" &&
        node.arguments.length > 0;
      // `const split = i.splitAt(a, b)`, then `expect(split.length)`: a value a test binds to a
      // call of the group is checked through the name, so the call itself is an expression too
      const bound =
        ts.isVariableDeclaration(node) && node.initializer && isCallOf(unwrap(node.initializer))
          ? unwrap(node.initializer)
          : null;
      // a statement of a test that calls a changed member (`program.parse([...])` in a `try`
      // whose error the test then checks): what it returns or throws is what it does
      const statement =
        ts.isExpressionStatement(node) && isCallOf(unwrap(node.expression))
          ? unwrap(node.expression)
          : null;
      const target = isExpect ? checked(node.arguments[0]) : bound || statement;
      const group = target ? mentioned(target, names, functions, ctors) : null;
      for (const row of group ? rowsAround(node) : []) {
        if ((counts.get(group) || 0) >= MAX_EXPRESSIONS) break;
        if (literalCall(target, functions, row)) continue;
        const closed = close(target, row, imports, 0);
        const setup = closed ? closed.helpers.join("\n") : "";
        const key = closed ? `${setup}\n${closed.text}` : null;
        if (!closed || closed.text.length > MAX_TEXT || seen.has(key)) continue;
        seen.add(key);
        counts.set(group, (counts.get(group) || 0) + 1);
        out.push({
          group,
          text: closed.text,
          setup,
          helpers: closed.helpers,
          call: callParts(closed.text, group, ctors),
          imports: [...closed.imports].map(([name, i]) => ({ name, ...i })),
          literals: [
            ...literalSpans(setup, "setup", ["", ""]),
            ...literalSpans(closed.text, "text", ["(", ")"]),
          ],
        });
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
    return out;
  }

  return { changedMembers, expressionsIn };
};
