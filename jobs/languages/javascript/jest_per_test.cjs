// Which lines of the measured files each test runs, in one jest run (Tandem, issue 20).
// Given to jest with --setupFilesAfterEnv; its coverage instrumentation (babel-plugin-istanbul)
// counts statements in globalThis.__coverage__; per_test_recorder.cjs beside it does the rest.
// jest's hooks know a test only by its full name, space-joined ("outer inner test"): the
// worker matches it to the JSON report's ids. Outcomes come from that report too ("ran" here).
"use strict";
const { makeRecorder } = require("./per_test_recorder.cjs");

const recorder = makeRecorder("__coverage__");
let before = recorder.counters();
let loaded = false;

beforeEach(() => {
  try {
    const state = expect.getState();
    if (!loaded) {
      loaded = true;
      recorder.record(state.testPath, "(load)", "load", before);
    }
    before = recorder.counters();
  } catch (error) {
    recorder.problem(error); // said in the record, never a failure of the project's test
  }
});

afterEach(() => {
  try {
    const state = expect.getState();
    recorder.record(state.testPath, state.currentTestName, "ran", before);
  } catch (error) {
    recorder.problem(error);
  }
});
