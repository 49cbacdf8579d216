"""The JavaScript/TypeScript backend's own parts (issue 20). :mod:`.javascript_backend` registers
the language (:mod:`jobs.languages.language_registry`) and runs its tests through
:mod:`.javascript_runs` (read as a ``SuiteRun`` by :mod:`.suite_results`) and its conventions
through :mod:`.javascript_conventions`; its offline engine is :mod:`.export_engine`. The parts:

- :mod:`.detect`: which changed files are JS/TS sources, grouped by package, each with its test
  runner and package manager (pure: file texts in, values out), from :mod:`.packages` (sources
  and packages), :mod:`.runner_choice` (the test runner) and :mod:`.package_managers` (the
  package manager and the install command);
- :mod:`.toolchain`: where ``node`` and npm are, and whether Node is new enough;
- :mod:`.coverage`: istanbul's ``coverage-final.json`` as changed-line sets (pure);
- :mod:`.vitest`: one vitest run of a package's suite with that coverage;
- the engine's: ``export_scan.cjs`` (with ``literal_rows.cjs`` and ``test_expressions.cjs``)
  reads the changed exports and members and what the tests pass them; :mod:`.export_calls` and
  :mod:`.export_candidates` say what to evaluate, :mod:`.export_probe` evaluates it through the
  project's runner, :mod:`.export_tests` writes the test file;
- :mod:`.js_mutants`: the mutants of the changed lines (``mutate.cjs``, on the TypeScript
  compiler API that :mod:`.typescript_tool` finds or installs), each run through the package's
  runner on the test files that ran its lines;
- :mod:`.js_per_test`: the offline engine's tests chosen one by one (split by
  ``split_tests.cjs``, :mod:`.split_tests`), for what each covers, pins and kills.
"""
