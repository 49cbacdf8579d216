// The lines each test runs, from istanbul's statement counters (Tandem, issue 20): shared by the
// vitest and jest setup files beside it. Before each test the counters are copied; after it,
// the statements whose count rose are the test's. Statement locations are in the code the
// runner instrumented; where the file carries a source map (TypeScript, vitest's transforms),
// each start is mapped back through it the way istanbul's own report does (greatest lower
// bound, then least upper bound), with the same library, @jridgewell/trace-mapping, which
// both runners' coverage tooling depends on.
//
// Output: one JSON line per test, {"file", "test", "state", "lines": {path: [line, ...]}}, in
// a file of its own per worker under TANDEM_PER_TEST_DIR; and a line {"problem": "..."} where
// the source-map library could not be loaded, or the setup file itself failed.
"use strict";
// bare names: jest before 27 resolves no `node:` specifier, and the setup file then fails every
// test file (css-what's jest 26: "Cannot find module 'node:fs'")
const { appendFileSync, mkdirSync, realpathSync } = require("fs");
const { createRequire } = require("module");
const { join } = require("path");
const { threadId } = require("worker_threads");

// The library, or why it could not be loaded (a string).
function traceMapping() {
  // Where the runner's coverage tooling is installed: the provider's package, then the project.
  // Each place is resolved through its links first: a require made from a link searches the
  // node_modules above the link, not above its target, and in pnpm's layout (or a provider
  // Tandem linked into the project) only the target's has the provider's dependencies.
  const places = [process.env.TANDEM_PROVIDER_PACKAGE, join(process.cwd(), "package.json")];
  const why = [];
  for (const place of places) {
    if (!place) continue;
    try {
      return createRequire(realpathSync(place))("@jridgewell/trace-mapping");
    } catch (error) {
      why.push(`${place}: ${String((error && error.message) || error).split("\n")[0]}`);
    }
  }
  for (const place of places) {
    const found = place && sourceMap(place);
    if (found) return found;
  }
  return `@jridgewell/trace-mapping did not load (${why.join("; ") || "nowhere to look"})`;
}

// jest before 28 maps coverage with `source-map` 0.6 (istanbul-lib-source-maps), not
// trace-mapping (css-what's jest 27): its synchronous consumer, in trace-mapping's shape, or
// null (not there, or 0.7's, which is asynchronous only).
function sourceMap(place) {
  try {
    const { SourceMapConsumer } = createRequire(realpathSync(place))("source-map");
    if (typeof SourceMapConsumer !== "function") return null;
    return {
      GREATEST_LOWER_BOUND: SourceMapConsumer.GREATEST_LOWER_BOUND,
      LEAST_UPPER_BOUND: SourceMapConsumer.LEAST_UPPER_BOUND,
      TraceMap: function TraceMap(raw) {
        const consumer = new SourceMapConsumer(raw);
        if (typeof consumer.originalPositionFor !== "function") {
          throw new Error("source-map's consumer is asynchronous (0.7 and later)");
        }
        return consumer;
      },
      originalPositionFor: (map, at) => map.originalPositionFor(at),
    };
  } catch {
    return null;
  }
}

function makeRecorder(storeKey) {
  const outDir = process.env.TANDEM_PER_TEST_DIR;
  const out = outDir ? join(outDir, `${process.pid}-${threadId}.jsonl`) : null;
  if (outDir) mkdirSync(outDir, { recursive: true });
  let mapping; // loaded on the first file with a source map
  const maps = new Map(); // file -> TraceMap
  const starts = new Map(); // file -> {statement id -> original start line, or null}

  function counters() {
    const store = globalThis[storeKey] || {};
    const copy = {};
    for (const [file, data] of Object.entries(store)) copy[file] = { ...data.s };
    return copy;
  }

  function startLine(file, data, id) {
    let lines = starts.get(file);
    if (!lines) starts.set(file, (lines = {}));
    if (id in lines) return lines[id];
    const where = data.statementMap[id].start;
    let line = where.line;
    if (data.inputSourceMap) {
      if (mapping === undefined) {
        mapping = traceMapping();
        // said once per worker, in its record file: the run turns it into a note, where a
        // record with no lines would otherwise look like tests that ran nothing
        if (typeof mapping === "string" && out) {
          const problem = `${mapping}: no line of a file with a source map is recorded`;
          appendFileSync(out, JSON.stringify({ problem }) + "\n");
        }
      }
      if (typeof mapping === "string") return (lines[id] = null); // a wrong line is worse
      if (!maps.has(file)) maps.set(file, new mapping.TraceMap(data.inputSourceMap));
      const map = maps.get(file);
      const at = { line: where.line, column: where.column };
      let found = mapping.originalPositionFor(map, { ...at, bias: mapping.GREATEST_LOWER_BOUND });
      if (found.source === null) {
        found = mapping.originalPositionFor(map, { ...at, bias: mapping.LEAST_UPPER_BOUND });
      }
      line = found.line; // null: generated code, with no place in the source
    }
    return (lines[id] = line);
  }

  function record(file, test, state, before) {
    if (!out) return;
    const store = globalThis[storeKey] || {};
    const lines = {};
    for (const [source, data] of Object.entries(store)) {
      const earlier = before[source] || {};
      for (const [id, count] of Object.entries(data.s)) {
        if (count > (earlier[id] || 0)) {
          const line = startLine(source, data, id);
          if (line !== null) (lines[source] ||= new Set()).add(line);
        }
      }
    }
    const shown = Object.fromEntries(
      Object.entries(lines).map(([source, found]) => [source, [...found].sort((a, b) => a - b)]),
    );
    appendFileSync(out, JSON.stringify({ file, test, state, lines: shown }) + "\n");
  }

  // A failure of the setup file itself, said once in the record file (the run turns it into a
  // note) rather than thrown: Tandem's recorder must not fail the project's tests, which
  // would read as the tests failing (a vitest 0.31 hook context once did)
  const said = new Set();
  function problem(error) {
    const why = `the per-test setup file failed: ${String((error && error.message) || error)}`;
    if (!out || said.has(why)) return;
    said.add(why);
    appendFileSync(out, JSON.stringify({ problem: why.split("\n")[0] }) + "\n");
  }

  return { counters, record, problem };
}

module.exports = { makeRecorder };
