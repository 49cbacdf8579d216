// Which lines of the measured files each test runs, in one vitest run (Tandem, issue 20).
//
// Loaded as a setup file by Tandem's wrapper config, in every test file's worker, with the
// istanbul coverage provider: its instrumented code counts statements in
// globalThis.__VITEST_COVERAGE__. Before each test the counters are copied; after it, the
// statements whose count rose are the test's. Their locations are in the transformed code, so
// each start is mapped back through the file's source map the way istanbul's own report does
// (greatest lower bound, then least upper bound), with the same library (trace-mapping, a
// dependency of the provider). What the test file runs while loading is recorded as "(load)".
//
// Output: one JSON line per test, {"file", "test", "state", "lines": {path: [line, ...]}}, in a
// file of its own per worker under TANDEM_PER_TEST_DIR.
import { afterEach, beforeEach } from "vitest";
import { appendFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { threadId } from "node:worker_threads";

const KEY = "__VITEST_COVERAGE__";
const OUT_DIR = process.env.TANDEM_PER_TEST_DIR;
const require_ = createRequire(process.env.TANDEM_PROVIDER_PACKAGE);
const mapping = require_("@jridgewell/trace-mapping");
const maps = new Map(); // file -> TraceMap, or null when it has none
const starts = new Map(); // file -> {statement id -> original start line}
const out = OUT_DIR ? join(OUT_DIR, `${process.pid}-${threadId}.jsonl`) : null;
if (OUT_DIR) mkdirSync(OUT_DIR, { recursive: true });

function counters() {
  const store = globalThis[KEY] || {};
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
    if (!maps.has(file)) maps.set(file, new mapping.TraceMap(data.inputSourceMap));
    const map = maps.get(file);
    let found = mapping.originalPositionFor(map, {
      line: where.line,
      column: where.column,
      bias: mapping.GREATEST_LOWER_BOUND,
    });
    if (found.source === null) {
      found = mapping.originalPositionFor(map, {
        line: where.line,
        column: where.column,
        bias: mapping.LEAST_UPPER_BOUND,
      });
    }
    line = found.line; // null: the statement has no original place (generated code)
  }
  return (lines[id] = line);
}

function record(test, state, before) {
  if (!out) return;
  const store = globalThis[KEY] || {};
  const lines = {};
  for (const [file, data] of Object.entries(store)) {
    const earlier = before[file] || {};
    for (const [id, count] of Object.entries(data.s)) {
      if (count > (earlier[id] || 0)) {
        const line = startLine(file, data, id);
        if (line !== null) (lines[file] ||= new Set()).add(line);
      }
    }
  }
  const shown = Object.fromEntries(
    Object.entries(lines).map(([file, found]) => [file, [...found].sort((a, b) => a - b)]),
  );
  appendFileSync(out, JSON.stringify({ file: test.file, test: test.name, state, lines: shown }) + "\n");
}

function nameOf(task) {
  // vitest 4 names a test "outer > inner > test" (fullTestName); earlier ones, by its suites
  let name = task.fullTestName;
  if (name === undefined) {
    const names = [];
    for (let t = task; t && t !== task.file; t = t.suite) names.unshift(t.name);
    name = names.join(" > ");
  }
  return { file: task.file ? task.file.filepath : "", name };
}

let before = counters(); // as the setup file loads, before the test file is imported
let loaded = false;

beforeEach((context) => {
  const test = nameOf(context.task);
  if (!loaded) {
    loaded = true;
    record({ file: test.file, name: "(load)" }, "load", before);
  }
  before = counters();
});

afterEach((context) => {
  const state = context.task.result ? context.task.result.state : "unknown";
  record(nameOf(context.task), state, before);
});
