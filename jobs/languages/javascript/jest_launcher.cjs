// Runs jest with its options given to jest-cli's run() rather than on process.argv. With one
// test file or one worker, jest runs the tests in its own process, where a test that parses
// process.argv (a CLI library's `program.parse()`) would read Tandem's options (--coverage,
// --json, ...) as its own and fail where the project's CI, running a bare `jest`, passes.
// Arguments: the installed jest folder, jest's entry script, then jest's options.
"use strict";
const fs = require("fs");

const [installed, entry, ...args] = process.argv.slice(2);
process.argv.splice(1, process.argv.length - 1, entry); // a bare `jest`'s argv
let cli = null;
try {
  const from = fs.realpathSync(installed); // pnpm: jest-cli sits beside jest's real folder
  cli = require(require.resolve("jest-cli", { paths: [from] }));
} catch {
  cli = null;
}
if (cli !== null && typeof cli.run === "function") {
  cli.run(args);
} else {
  process.argv.push(...args); // a jest without jest-cli's run(): its options as before
  require(entry);
}
