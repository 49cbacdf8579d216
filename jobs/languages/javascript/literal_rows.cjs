// Literal values in JS/TS source, read with the TypeScript compiler API: which expressions are
// written-out literals, and the rows a data-driven test runs a call with (`for (const t of
// rows) fn(t.input)`, `it.each(rows)("…", (a, b) => fn(a))`, names bound to literals in scope).
// Shared by export_scan.cjs and test_expressions.cjs: `require("./literal_rows.cjs")(ts)`.
"use strict";

const MAX_ROWS = 64; // rows one call expands to

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

  return { isLiteral, primitive, unwrap, resolve, rowsAround };
};
