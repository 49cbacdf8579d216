// Reach for a change the module does not export (issue 20): the exported functions, and the
// exported values a module function makes (`export const defu = createDefu()`), that reach a
// changed top-level declaration through the module's own references (`defu` -> `createDefu`
// -> `_defu`). A test can only call what the module exports, so a change inside `_defu` is
// tested through them. Read with the TypeScript compiler API, never run; a name shadowed
// inside a function still counts as a reference, which only adds a caller to try.
// Used by export_scan.cjs: `require("./inner_callers.cjs")(ts)`.
"use strict";

module.exports = function innerCallers(ts) {
  // Top-level declarations by name: functions, classes and variables (whatever they hold)
  function declarations(sf) {
    const found = new Map();
    for (const st of sf.statements) {
      if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st)) && st.name) {
        found.set(st.name.text, st);
      } else if (ts.isVariableStatement(st)) {
        for (const decl of st.declarationList.declarations) {
          if (ts.isIdentifier(decl.name)) found.set(decl.name.text, decl);
        }
      }
    }
    return found;
  }

  // An identifier that names a property (`a.name`, `{ name: 1 }`) refers to no declaration
  function isPropertyName(id) {
    const parent = id.parent;
    return Boolean(
      parent &&
        ((ts.isPropertyAccessExpression(parent) && parent.name === id) ||
          ((ts.isPropertyAssignment(parent) || ts.isMethodDeclaration(parent) ||
            ts.isPropertyDeclaration(parent)) && parent.name === id)),
    );
  }

  function references(node, names) {
    const out = new Set();
    const visit = (n) => {
      if (ts.isIdentifier(n) && names.has(n.text) && !isPropertyName(n)) out.add(n.text);
      ts.forEachChild(n, visit);
    };
    visit(node);
    return out;
  }

  // The top-level names `start` reaches, itself left out
  function reached(start, decls) {
    const seen = new Set();
    const todo = [...references(start, decls)];
    while (todo.length) {
      const name = todo.pop();
      if (seen.has(name)) continue;
      seen.add(name);
      todo.push(...references(decls.get(name), decls));
    }
    return seen;
  }

  // `export const x = make(...)` and `const x = make(...); export { x }; export default x`:
  // a value a call makes, which may be a function ([exported name, the declaration])
  // the expression under a type-only wrapper: `createDefu() as DefuInstance`, `(make())`,
  // `make()!`, `make() satisfies T`
  function unwrapped(node) {
    while (
      ts.isAsExpression(node) || ts.isParenthesizedExpression(node) ||
      ts.isNonNullExpression(node) || ts.isTypeAssertionExpression(node) ||
      (ts.isSatisfiesExpression && ts.isSatisfiesExpression(node))
    ) {
      node = node.expression;
    }
    return node;
  }

  function madeValues(sf, decls) {
    const made = (decl) =>
      decl && ts.isVariableDeclaration(decl) && decl.initializer &&
      ts.isCallExpression(unwrapped(decl.initializer));
    const out = [];
    for (const st of sf.statements) {
      const exported = (ts.canHaveModifiers(st) ? ts.getModifiers(st) || [] : []).some(
        (m) => m.kind === ts.SyntaxKind.ExportKeyword,
      );
      if (ts.isVariableStatement(st) && exported) {
        for (const decl of st.declarationList.declarations) {
          if (made(decl) && ts.isIdentifier(decl.name)) out.push([decl.name.text, decl]);
        }
      } else if (ts.isExportDeclaration(st) && !st.moduleSpecifier && st.exportClause &&
        ts.isNamedExports(st.exportClause)) {
        for (const spec of st.exportClause.elements) {
          const decl = decls.get((spec.propertyName || spec.name).text);
          if (made(decl)) out.push([spec.name.text, decl]);
        }
      } else if (ts.isExportAssignment(st) && ts.isIdentifier(st.expression)) {
        const decl = decls.get(st.expression.text);
        if (made(decl)) out.push(["default", decl]);
      }
    }
    return out;
  }

  // The callers of changed declarations that no export holds: [{name, export, node, doc,
  // fn (null for a made value), via: [the changed declarations' names], inner: [their nodes]}]
  function callers(sf, exportedFunctions, changedIn) {
    const decls = declarations(sf);
    const held = new Set(exportedFunctions.filter(([, fn]) => changedIn(fn)).map(([, fn]) => fn));
    const inner = new Map(
      [...decls].filter(
        ([, node]) => changedIn(node) && ![...held].some((f) => within(f, node) || within(node, f)),
      ),
    );
    if (!inner.size) return [];
    const out = [];
    const entries = [
      ...exportedFunctions.filter(([, fn]) => !held.has(fn)).map(([n, fn, doc]) => [n, fn, doc, fn]),
      ...madeValues(sf, decls).map(([n, decl]) => [n, decl.initializer, decl, null]),
    ];
    // one entry per declaration: `export const merge = …; export default merge` is one value,
    // and two imports of it under one name would clash; the named export is kept
    entries.sort((a, b) => (a[0] === "default") - (b[0] === "default"));
    const tried = new Set();
    for (const [name, node, doc, fn] of entries) {
      if (tried.has(node)) continue;
      tried.add(node);
      const via = [...reached(node, decls)].filter((n) => inner.has(n));
      if (via.length) {
        out.push({ name, node, doc, fn, via, inner: via.map((n) => inner.get(n)) });
      }
    }
    return out;
  }

  // The class members that reach a changed top-level function or value the module does not
  // export, without a changed line of their own (luxon's `DateTime#toISO` reaches the changed
  // `toISOTime`): a test reaches the change through them. [{name, node, inner: [nodes]}]; a
  // changed class is no such declaration (its changed members are found as they are).
  function reachingMembers(sf, exportedFunctions, changedIn) {
    const decls = declarations(sf);
    const held = exportedFunctions.filter(([, fn]) => changedIn(fn)).map(([, fn]) => fn);
    const inner = new Map(
      [...decls].filter(
        ([, node]) =>
          changedIn(node) &&
          !isClass(node) &&
          !held.some((f) => within(f, node) || within(node, f)),
      ),
    );
    if (!inner.size) return [];
    // the way to a changed function leads through functions and values, never through a class
    // (every member of a class would reach what any of its members reaches)
    const functions = new Map([...decls].filter(([, node]) => !isClass(node)));
    const out = [];
    const visit = (node) => {
      if (ts.isClassDeclaration(node) || ts.isClassExpression(node)) {
        for (const member of node.members) {
          if (!member.name || !ts.isIdentifier(member.name) || changedIn(member)) continue;
          const direct = [...references(member, functions)].filter((n) => inner.has(n));
          const via = [...reached(member, functions)].filter((n) => inner.has(n));
          if (via.length) {
            const nodes = via.map((n) => inner.get(n));
            out.push({ name: member.name.text, node: member, inner: nodes, direct: direct.length > 0 });
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
    // the members that call a changed function themselves first
    return [...out.filter((m) => m.direct), ...out.filter((m) => !m.direct)];
  }

  // The members of a changed member's class that reach it through `this.name(…)` (commander's
  // `parse` -> `_parseCommand` -> the changed `_excessArguments`), nearest first, at most
  // ``limit``: the tests call the class's entry points, seldom its inner members.
  // [{name, node, inner: [the changed members' nodes]}]
  function thisCallers(changed, limit) {
    const out = [];
    const seen = new Set(changed.map((m) => m.node));
    const byClass = new Map();
    for (const m of changed) {
      const owner = m.node.parent;
      if (!owner || !(ts.isClassDeclaration(owner) || ts.isClassExpression(owner))) continue;
      if (!byClass.has(owner)) byClass.set(owner, []);
      byClass.get(owner).push(m);
    }
    for (const [owner, mine] of byClass) {
      const inner = mine.map((m) => m.node);
      const self = owner.name ? owner.name.text : null;
      let frontier = new Set(mine.map((m) => m.name));
      while (frontier.size && out.length < limit) {
        const next = new Set();
        for (const member of owner.members) {
          if (out.length >= limit) break;
          const named = member.name && (ts.isIdentifier(member.name) || ts.isPrivateIdentifier(member.name));
          if (seen.has(member) || !named) continue;
          if (!callsOnThis(member, frontier, self)) continue;
          seen.add(member);
          next.add(member.name.text);
          // a private member (`#parseRange`) leads on to its callers; no test names it
          if (ts.isIdentifier(member.name)) out.push({ name: member.name.text, node: member, inner });
        }
        frontier = next;
      }
    }
    return out;
  }

  // Whether ``node`` calls or reads `this.<one of names>`, or `Class.<one of names>` of its own
  // class ``self`` (a static member: cron-parser's `CronExpressionParser.#parseRange(…)`)
  function callsOnThis(node, names, self = null) {
    let found = false;
    const visit = (n) => {
      if (found) return;
      if (
        ts.isPropertyAccessExpression(n) &&
        (n.expression.kind === ts.SyntaxKind.ThisKeyword ||
          (self !== null && ts.isIdentifier(n.expression) && n.expression.text === self)) &&
        names.has(n.name.text)
      ) {
        found = true;
        return;
      }
      ts.forEachChild(n, visit);
    };
    visit(node);
    return found;
  }

  function isClass(node) {
    return (
      ts.isClassDeclaration(node) ||
      (ts.isVariableDeclaration(node) && node.initializer && ts.isClassExpression(node.initializer))
    );
  }

  // `node` lies inside `outer` (an exported function that holds a changed line already)
  function within(outer, node) {
    return node.getStart() >= outer.getStart() && node.getEnd() <= outer.getEnd();
  }

  return { callers, reachingMembers, thisCallers };
};
