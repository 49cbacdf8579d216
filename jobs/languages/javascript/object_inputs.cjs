// Object arguments for a changed function that no test calls (colord's `getDeltaE00(color1,
// color2)`, reached by the tests only through `colord(hex).delta(…)`; date-and-time's
// `validatePreparseResult(pr)`, reached through `isValid(string)`): the object literals the
// package's tests hold anywhere (an input, an expected value: `toMatchObject({ l: 54.29, a: 80.81,
// b: 69.89, alpha: 1 })`, `const dt = { Y: 2000, _index: 4, … }`) whose keys fit the properties
// the function reads of the parameter, then each with a property the changed lines read set to
// a number of the changed lines (`range(pr.Z, -913, 956)`: `{ …, Z: 955 }`), at the edge of the
// changed comparison. Read with the TypeScript compiler API, never run.
// Used by export_scan.cjs: `require("./object_inputs.cjs")(ts)`.
"use strict";

const MAX_OBJECTS = 2000; // object literals kept from the tests, for every function
const MAX_TEXT = 300; // characters of one object literal
const MAX_FITTING = 12; // objects a parameter gets
const MAX_EDGE_OBJECTS = 6; // of them, given a changed property's edge values
const MAX_EDGE_VALUES = 9; // changed-line numbers with their neighbours

module.exports = function objectInputs(ts) {
  const { isLiteral } = require("./literal_rows.cjs")(ts);

  const keyOf = (name) =>
    ts.isIdentifier(name) ? name.text : ts.isStringLiteral(name) ? name.text : null;

  // The test file's object literals of literal values: [{keys: [..], props: [[key, text], ..]}]
  function objectLiterals(sf, into = [], seen = new Set()) {
    const visit = (node) => {
      if (into.length >= MAX_OBJECTS) return;
      if (
        ts.isObjectLiteralExpression(node) &&
        node.properties.length > 0 &&
        isLiteral(node) &&
        node.getText().length <= MAX_TEXT
      ) {
        const props = node.properties.map((p) => [keyOf(p.name), p.initializer.getText()]);
        const text = render(props);
        if (props.every(([k]) => k !== null) && !seen.has(text)) {
          seen.add(text);
          into.push({ keys: props.map(([k]) => k), props });
        }
        return;
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
    return into;
  }

  function render(props) {
    const key = (k) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k));
    return `{ ${props.map(([k, v]) => `${key(k)}: ${v}`).join(", ")} }`;
  }

  // The objects that fit a parameter the function reads ``reads`` of: every read property
  // among their keys, or (a record of many optional fields, of which a test gives a few) all
  // their keys, two at least, among the reads. An object with every read property that lacks
  // a key another such object has is left out: a type checker (ts-jest) refuses an object
  // without a required key (colord's `{ l: 100, a: 0, b: 0 }` where the type also needs
  // `alpha`), and the whole test file with it. The larger key sets first, the first of each
  // key set before the others: the tests' variety of shapes
  function fitting(objects, reads) {
    if (reads.length < 2) return [];
    const wanted = new Set(reads);
    const complete = (o) => reads.every((r) => o.keys.includes(r));
    const whole = objects.filter(complete);
    const lacking = (o) =>
      whole.some((w) => w.keys.length > o.keys.length && o.keys.every((k) => w.keys.includes(k)));
    const fits = objects.filter((o) =>
      complete(o) ? !lacking(o) : o.keys.length >= 2 && o.keys.every((k) => wanted.has(k)),
    );
    const shapes = new Set();
    const first = [];
    const rest = [];
    for (const o of fits) {
      const shape = [...o.keys].sort().join(",");
      (shapes.has(shape) ? rest : first).push(o);
      shapes.add(shape);
    }
    const bySize = (a, b) => b.keys.length - a.keys.length;
    return [...first.sort(bySize), ...rest.sort(bySize)].slice(0, MAX_FITTING);
  }

  function near(text) {
    const n = Number(text);
    if (!Number.isInteger(n)) return [text];
    return [String(n), String(n - 1), String(n + 1)];
  }

  // A parameter's object inputs, as source texts: the fitting objects, each of the first few
  // also with a property the changed lines read set to each changed-line number (and its
  // neighbours); those edge objects first, taking turns over the objects
  function inputsFor(objects, reads, changedReads, numbers) {
    const fits = fitting(objects, reads);
    if (!fits.length) return [];
    const values = [...new Set(numbers.flatMap(near))].slice(0, MAX_EDGE_VALUES);
    const edges = [];
    for (const value of values) {
      for (const o of fits.slice(0, MAX_EDGE_OBJECTS)) {
        for (const key of changedReads) {
          const props = o.props.filter(([k]) => k !== key);
          edges.push(render([...props, [key, value]]));
        }
      }
    }
    const plain = fits.map((o) => render(o.props));
    return [...new Set([...plain.slice(0, 2), ...edges, ...plain.slice(2)])];
  }

  return { objectLiterals, fitting, inputsFor, render };
};
