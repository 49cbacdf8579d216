"""Test generation: clone, measure what the existing tests cover of the changed lines, let an
engine (the OpenHands agent, or the offline engines) write tests for what is not covered, keep
only tests that pass every validation run and prove something new, deliver them.

``produce_tests`` (:mod:`.produce`) is the GitHub-free core (a checkout and its changed lines
in, verdicts and evidence out); ``produce_and_report`` (:mod:`.pipeline`) adds the part's
result and hands kept tests to a ``Deliverer``; the worker's ``generate`` (:mod:`.testgen_job`)
wraps that with the clone and delivery to the pull request, ``tandem run`` with a local clone
and delivery into the working tree.

Layout. This package holds what every language shares; what depends on the language is behind
the :class:`jobs.languages.language_protocol.Language` protocol (:mod:`jobs.languages`):

- the stages (:mod:`.stages`) and their inputs: :class:`.context.Context` (sandbox, checkout,
  config, settings, budget, progress, the change's language, base commit),
  :class:`.context.Plan`, and what they find, one :class:`.production.Production` (which
  :mod:`.tests_report` renders); the plan (:mod:`.targets`), the budget (:mod:`.budget`),
  line-set arithmetic (:mod:`.line_sets`);
- validation (:mod:`.validation`), the two keep rules (:mod:`.keep`, :mod:`.selection` per file,
  the language's ``Language.per_test`` per test, given and filling the types of
  :mod:`.per_test_selection`, choosing through :mod:`.test_choice`), the base commit's verdicts
  (:mod:`.pin`, the base tree :mod:`.base_tree`), the mutants (:mod:`.proof`);
- the engines (:mod:`.engines`: the protocol, the registry and portfolios, the agent, the offline
  engines and the helpers only they use);
- the agent's prompts (:mod:`.prompts`) and delivery (:mod:`.deliver`).

Python (:mod:`jobs.languages.python`) runs pytest under coverage.py (its ``pytest_runner``), the
base commit's runs (``base_commit``), reads its conventions (``python_conventions``), its changed
statements and the functions they are in (``python_statements``), prunes a candidate's failing
tests (``pruning``), and selects test by test
(``per_test``, with ``per_test_choice``, ``per_test_measure`` and the tidying of ``tidy``,
``tidy_names``, ``tidy_review``): the stages reach all of it through the protocol. The mutants
(:mod:`.proof`) work on Python's ``ast`` and pytest, and run only where the run's language says
it has them (``Language.mutants``). A change whose only sources are in a language that builds no
tests yet is skipped with that reason.

Adding a language or an engine: :mod:`jobs.languages.language_registry` says how (one module
and one registration each; ``tests/test_languages.py`` registers a toy of each from outside).

Evidence, in order:
1. **Scope and baseline** (:func:`.stages.scope`, :func:`.stages.prepare`,
   :func:`.stages.baseline`): the changed source files that parse; the dependency install and
   setup commands; the repository's own tests under coverage in the sandbox
   (``Language.run_suite``). Failing tests, collection errors and a repository without tests
   are reported, not fatal: whatever ran counts.
2. **Plan** (:func:`.stages.plan`, :mod:`.targets`): changed statements nothing covers, per
   file (``Language.changed_executable``), with the functions they are in
   (``Language.functions_touching``); files ordered by that count and capped by
   ``max_files`` (the rest is named in the report). Where the existing tests run every changed
   line, the mutants of the changed lines run against them first (:func:`.stages.survivors`),
   and the engines write tests only where some survive.
3. **Candidates** (:func:`.stages.generate`, :mod:`.engines`): the portfolio's engines write
   test files (the agent's prompt, :mod:`.prompts`: the uncovered lines and their code, the
   language's test conventions with its runner, paths and one-file command
   (``Language.conventions``, ``Conventions.prompting``), the config's instructions). With an
   LLM and ``engine: auto``, the offline engines come first, and the agent builds on what
   they kept.
4. **Validation and selection** (:mod:`.keep`: one ``Selection`` interface, two rules chosen
   in ``selection_for``). Per test (``Language.per_test``), for the offline engines' candidates
   under ``keep_rule: new_changed_lines`` in a language that tells tests apart (Python):
   each test tidied, validated and kept greedily by what it newly proves. Otherwise per file
   (:mod:`.validation`, :mod:`.selection`), for the agent's files and under
   ``keep_rule: total``: each file runs ``flaky_runs`` times (the first under coverage); a
   file that fails on any run is discarded; when only some top-level test functions fail,
   those are removed and the rest must pass all runs again. The agent is told why a file
   failed (``MAX_FIX_ROUNDS`` focused conversations to fix it) and then which changed lines
   are still not run (``MAX_COVERAGE_ROUNDS``). Passing files are taken greedily by the
   changed lines they add (``keep_rule: total``: if they add any covered line of code that is
   not the language's test code).
5. **Base commit** (``Language.pin_on_base``, ``broken_on_base``, :mod:`.pin`): the candidates
   also run on the base commit (those that fail there pin the change, and win a coverage tie),
   and so do the baseline's failing tests: one that passes on the base is broken by the
   change, a finding (``test_generation.fail_on: [broken_tests]`` fails the check).
6. **Mutants** (:mod:`.proof`, :func:`.produce.score_mutants`): small bugs put into the
   changed lines, each run against the tests that run its line, forked in one pytest session
   in the sandbox: how many the existing tests kill, and how many with the kept tests; a
   notice on each line where one survives.

The part's budget (:mod:`.budget`) caps wall time, LLM iterations and cost across all of it;
:mod:`.tests_report` renders the result and :mod:`.deliver` puts kept tests in front of people.
"""

from jobs.testgen.engines.agent_conversations import agent_conversation
from jobs.testgen.pipeline import ChangeToTest, Delivered, Deliverer, produce_and_report
from jobs.testgen.produce import produce_tests
from jobs.testgen.production import Production
from jobs.testgen.prompts import build_prompt
from jobs.testgen.selection import select
from jobs.testgen.targets import plan_targets
from jobs.testgen.testgen_job import generate
from jobs.testgen.tests_report import render
from jobs.testgen.validation import new_test_files, validate

__all__ = [
    "ChangeToTest",
    "Delivered",
    "Deliverer",
    "Production",
    "agent_conversation",
    "build_prompt",
    "generate",
    "new_test_files",
    "plan_targets",
    "produce_and_report",
    "produce_tests",
    "render",
    "select",
    "validate",
]
