// Which lines of the measured files each test runs, in one vitest run (Tandem, issue 20).
// Loaded as a setup file by Tandem's wrapper config, in every test file's worker, with the
// istanbul provider, whose instrumented code counts statements in
// globalThis.__VITEST_COVERAGE__; per_test_recorder.cjs beside it does the rest. What the test
// file runs while loading is recorded as "(load)".
import { afterEach, beforeEach } from "vitest";
import { createRequire } from "node:module";

const { makeRecorder } = createRequire(import.meta.url)("./per_test_recorder.cjs");
const recorder = makeRecorder("__VITEST_COVERAGE__");

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

// the test a hook's context is about: `context.task`, named `context.meta` before vitest 0.32
function taskOf(context) {
  return context.task || context.meta;
}

let before = recorder.counters(); // as the setup file loads, before the test file is imported
let loaded = false;

beforeEach((context) => {
  try {
    if (!loaded) {
      loaded = true;
      recorder.record(nameOf(taskOf(context)).file, "(load)", "load", before);
    }
    before = recorder.counters();
  } catch (error) {
    recorder.problem(error); // said in the record, never a failure of the project's test
  }
});

afterEach((context) => {
  try {
    const task = taskOf(context);
    const test = nameOf(task);
    const state = task.result ? task.result.state : "unknown";
    recorder.record(test.file, test.name, state, before);
  } catch (error) {
    recorder.problem(error);
  }
});
