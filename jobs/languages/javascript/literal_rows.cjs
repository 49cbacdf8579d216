// Literal values in JS/TS source, read with the TypeScript compiler API: which expressions are
// written-out literals, and the rows a data-driven test runs a call with (`for (const t of
// rows) fn(t.input)`, `it.each(rows)("…", (a, b) => fn(a))`, names bound to literals in scope).
// Shared by export_scan.cjs and test_expressions.cjs: `require("./literal_rows.cjs")(ts)`.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const MAX_ROWS = 192; // rows one call expands to (a table of a hundred rows is usual)
const MAX_MODULE_BYTES = 1_000_000; // a test's imported table module read at most

module.exports = function literalRows(ts) {
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
  
  // --- data-driven tests: the rows a call runs with ---------------------------------------------
  // `for (const t of rows) fn(t.input)`, `it.each(rows)("…", (a, b) => fn(a))` and names bound
  // to literals (`const base = "/x"`) give a call's arguments as literals, one call per row.
  
  
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
  // `const name = <literal>`, an array of literals and spreads of such arrays included), or null
  function declared(name, use) {
    for (let node = use.parent; node; node = node.parent) {
      for (const statement of node.statements || []) {
        if (!ts.isVariableStatement(statement)) continue;
        for (const decl of statement.declarationList.declarations) {
          if (ts.isIdentifier(decl.name) && decl.name.text === name && decl.initializer) {
            const value = unwrap(decl.initializer);
            return isLiteral(value) || spreadElements(value) !== null ? value : null;
          }
        }
      }
    }
    return imported(name, use.getSourceFile());
  }

  // A table a test imports from a module of its own (css-what's `import { tests } from
  // "./__fixtures__/tests"`, path-to-regexp's cases file): the literal that module exports
  // under the name, read with the same rules; null for a package, or where it is not one.
  const MODULE_SUFFIXES = ["", ".ts", ".tsx", ".mts", ".js", ".mjs", ".cjs", "/index.ts", "/index.js"];
  const modules = new Map(); // file -> SourceFile, or null where it could not be read
  function imported(name, sf) {
    for (const statement of sf.statements) {
      if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
      const bindings = statement.importClause && statement.importClause.namedBindings;
      if (!bindings || !ts.isNamedImports(bindings)) continue;
      const spec = bindings.elements.find((e) => e.name.text === name);
      const from = statement.moduleSpecifier.text;
      if (!spec || !from.startsWith(".")) continue;
      const other = moduleAt(path.resolve(path.dirname(sf.fileName), from));
      if (!other) return null;
      const exported = (spec.propertyName || spec.name).text;
      for (const st of other.statements) {
        if (!ts.isVariableStatement(st)) continue;
        const isExported = (st.modifiers || []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
        for (const decl of isExported ? st.declarationList.declarations : []) {
          if (ts.isIdentifier(decl.name) && decl.name.text === exported && decl.initializer) {
            const value = unwrap(decl.initializer);
            return isLiteral(value) || spreadElements(value) !== null ? value : null;
          }
        }
      }
      return null;
    }
    return null;
  }

  function moduleAt(base) {
    for (const suffix of MODULE_SUFFIXES) {
      const file = base + suffix;
      if (modules.has(file)) return modules.get(file);
      let text;
      try {
        if (!fs.statSync(file).isFile()) continue;
        text = fs.readFileSync(file, "utf8");
      } catch {
        continue;
      }
      const sf = text.length > MAX_MODULE_BYTES ? null :
        ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
      modules.set(file, sf);
      return sf;
    }
    return null;
  }

  // The elements of an array literal with its spreads of literal arrays laid out
  // (`[...joinTests, { input: ["/a"] }]`), or null where one is not a literal
  let spreading = 0; // how deep spreads are being laid out: a name spread in itself ends it
  function spreadElements(node) {
    node = unwrap(node);
    if (!node || !ts.isArrayLiteralExpression(node) || spreading > 8) return null;
    const out = [];
    spreading += 1;
    try {
      for (const element of node.elements) {
        if (ts.isSpreadElement(element)) {
          const inner = spreadElements(resolve(element.expression, new Map()));
          if (inner === null) return null;
          out.push(...inner);
        } else if (isLiteral(unwrap(element)) || isRow(unwrap(element))) {
          out.push(element);
        } else {
          return null;
        }
      }
    } finally {
      spreading -= 1;
    }
    return out;
  }
  
  // A table's row written out as an array or object literal, whatever its parts: the parts a
  // call takes are checked where it takes them (css-what's rows hold the selector, a literal,
  // beside the expected tokens, `type: SelectorType.Tag`)
  function isRow(node) {
    return Boolean(node) && (ts.isArrayLiteralExpression(node) || ts.isObjectLiteralExpression(node));
  }

  // A property's name as a string: `a`, `"a"`, `1`
  function keyOf(property) {
    const name = property.name;
    if (ts.isIdentifier(name) || ts.isPrivateIdentifier(name)) return name.text;
    if (ts.isStringLiteral(name) || ts.isNumericLiteral(name)) return name.text;
    return null;
  }

  function propertyOf(object, key) {
    const prop = object.properties.find((p) => ts.isPropertyAssignment(p) && keyOf(p) === key);
    return prop ? unwrap(prop.initializer) : null;
  }

  // A string as a literal node of its own (a key bound by `for … in` or Object.keys)
  function stringNode(text) {
    const sf = ts.createSourceFile("k.ts", JSON.stringify(text), ts.ScriptTarget.Latest, true);
    return sf.statements[0].expression;
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
      return base && ts.isObjectLiteralExpression(base) ? propertyOf(base, node.name.text) : null;
    }
    if (ts.isElementAccessExpression(node)) {
      const base = resolve(node.expression, row);
      const key = resolve(node.argumentExpression, row);
      if (!base || !key || !(ts.isStringLiteral(key) || ts.isNumericLiteral(key))) return null;
      if (ts.isObjectLiteralExpression(base)) return propertyOf(base, key.text);
      const element = (spreadElements(base) || [])[Number(key.text)];
      return element ? unwrap(element) : null;
    }
    return isLiteral(node) || spreadElements(node) !== null ? node : null;
  }
  
  // A binding pattern bound to a value node: name -> literal node (nothing where it does not fit)
  function bind(pattern, value, into) {
    value = unwrap(value);
    if (!value) return into;
    if (ts.isIdentifier(pattern)) {
      into.set(pattern.text, value);
    } else if (ts.isObjectBindingPattern(pattern) && ts.isObjectLiteralExpression(value)) {
      for (const element of pattern.elements) {
        const found = propertyOf(value, (element.propertyName || element.name).getText());
        if (found) bind(element.name, found, into);
      }
    } else if (ts.isArrayBindingPattern(pattern) && ts.isArrayLiteralExpression(value)) {
      pattern.elements.forEach((element, i) => {
        if (ts.isOmittedExpression(element) || element.dotDotDotToken) return;
        if (value.elements[i]) {
          bind(element.name, value.elements[i], into);
        } else if (ts.isIdentifier(element.name)) {
          // a column the row leaves out (`[input, expected, options?]` with two): its default,
          // else undefined, as the loop binds it
          const fallback = element.initializer && isLiteral(unwrap(element.initializer));
          into.set(element.name.text, fallback ? unwrap(element.initializer) : undefinedNode());
        }
      });
    }
    return into;
  }

  let undefinedLiteral = null;
  function undefinedNode() {
    if (undefinedLiteral === null) {
      const sf = ts.createSourceFile("u.ts", "undefined", ts.ScriptTarget.Latest, true);
      undefinedLiteral = sf.statements[0].expression;
    }
    return undefinedLiteral;
  }
  
  // The elements an expression iterates: an array literal, or Object.keys / Object.values /
  // Object.entries of an object literal (entries as [key, value] pairs)
  function arrayOf(node) {
    node = unwrap(node);
    if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      node.expression.expression.getText() === "Object" &&
      node.arguments[0]
    ) {
      const object = resolve(node.arguments[0], new Map());
      const how = node.expression.name.text;
      if (!object || !ts.isObjectLiteralExpression(object)) return null;
      const props = object.properties.filter((p) => ts.isPropertyAssignment(p) && keyOf(p) !== null);
      if (how === "keys") return props.map((p) => stringNode(keyOf(p)));
      if (how === "values") return props.map((p) => p.initializer);
      if (how === "entries") {
        return props.map((p) => ({ pair: [stringNode(keyOf(p)), unwrap(p.initializer)] }));
      }
      return null;
    }
    return spreadElements(resolve(node, new Map()));
  }

  // Bind one iterated element (an [key, value] pair of Object.entries included)
  function bindElement(pattern, element, into) {
    if (element && element.pair) {
      if (ts.isArrayBindingPattern(pattern)) {
        pattern.elements.forEach((e, i) => {
          if (!ts.isOmittedExpression(e) && element.pair[i]) bind(e.name, element.pair[i], into);
        });
      }
      return into;
    }
    return bind(pattern, element, into);
  }

  // The rows a for-of or for-in loop or an `.each(rows)` callback binds, or null
  function rowsOf(node) {
    if (ts.isForOfStatement(node) && ts.isVariableDeclarationList(node.initializer)) {
      const decl = node.initializer.declarations[0];
      const elements = decl ? arrayOf(node.expression) : null;
      return elements ? elements.map((e) => bindElement(decl.name, e, new Map())) : null;
    }
    if (ts.isForInStatement(node) && ts.isVariableDeclarationList(node.initializer)) {
      const decl = node.initializer.declarations[0];
      const object = decl && ts.isIdentifier(decl.name) ? resolve(node.expression, new Map()) : null;
      if (!object || !ts.isObjectLiteralExpression(object)) return null;
      return object.properties
        .filter((p) => ts.isPropertyAssignment(p) && keyOf(p) !== null)
        .map((p) => new Map([[decl.name.text, stringNode(keyOf(p))]]));
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

  return { isLiteral, primitive, unwrap, resolve, rowsAround, spreadElements };
};
