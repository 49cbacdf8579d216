"""Test generation: clone, measure what the existing tests cover of the changed lines, let an
engine (the OpenHands agent, or the offline CrossHair and Pynguin) write tests for what is not
covered, keep only tests that pass every validation run and cover changed lines nothing covered
before, deliver them.

``produce_tests`` (:mod:`.produce`) is the GitHub-free core (a checkout and its changed lines
in, verdicts and evidence out); ``produce_and_report`` (:mod:`.pipeline`) adds the part's
result and hands kept tests to a ``Deliverer``; the worker's ``generate`` (:mod:`.job`)
wraps that with the clone and delivery to the pull request, ``tandem run`` with a local clone
and delivery into the working tree.

``produce_tests`` runs named stages (:mod:`.stages`), each a function of the run's
:class:`.context.Context` (sandbox, checkout, config, settings, budget, progress, the change's
language, base commit) that writes what it found into one :class:`.production.Production`
(which :mod:`.tests_report` renders). Whatever depends on the language (which changed files are
sources, parsing them, running the suite, the candidates and the base commit's tests, the test
conventions, which offline engines run) the stages ask of ``ctx.language``, a
:class:`jobs.languages.language_protocol.Language` chosen by
:func:`jobs.languages.language_registry.change_for`: Python (:mod:`jobs.languages.python`,
delegating to :mod:`.pytest_runner`, :mod:`.base_commit` and :mod:`.conventions`); a change whose
only sources are in a language that builds no tests yet (JavaScript/TypeScript) is skipped with that
reason. Evidence, in
order:
1. **Scope and baseline** (:func:`.stages.scope`, :func:`.stages.prepare`,
   :func:`.stages.baseline`): the changed source files that parse; the dependency install and
   setup commands; the repository's own tests under coverage in the sandbox (Python: pytest
   under coverage.py, :mod:`.pytest_runner`). Failing tests, collection errors and a
   repository without tests are reported, not fatal: whatever ran counts.
2. **Plan** (:func:`.stages.plan`, :mod:`.targets`): changed statements nothing covers, per
   file, with the functions they are in; files ordered by that count and capped by
   ``max_files`` (the rest is named in the report). Where the existing tests run every changed
   line, only the differential engine runs, to pin what base and head do differently.
3. **Candidates** (:func:`.stages.generate`, :mod:`.engines`): the portfolio's engines write
   test files (the agent's prompt, :mod:`.prompts`: the uncovered lines and their code, the
   language's test conventions with its runner, paths and one-file command
   (``Conventions.prompting``), the config's instructions). With an
   LLM and ``engine: auto``, the offline engines come first, and the agent builds on what
   they kept.
4. **Validation and selection** (:mod:`.keep`: one ``Selection`` interface, two rules chosen
   in ``selection_for``). Per test (:mod:`.per_test`), for the offline engines' candidates
   under ``keep_rule: new_changed_lines`` in a language that tells tests apart (Python):
   each test tidied, validated and kept greedily by the changed lines it newly covers.
   Otherwise per file (:mod:`.validation`, :mod:`.selection`), for the
   agent's files and under ``keep_rule: total``: each file runs ``flaky_runs`` times (the
   first under coverage); a file that fails on any run is discarded; when only some top-level
   test functions fail, those are removed and the rest must pass all runs again. The agent is
   told why a file failed (``MAX_FIX_ROUNDS`` focused conversations to fix it) and then which
   changed lines are still not run (``MAX_COVERAGE_ROUNDS``). Passing files are taken
   greedily by the changed lines they add (``keep_rule: total``: if they add any covered line
   of non-test code).
5. **Base commit** (:mod:`.base_commit`, :mod:`.pin`): the candidates also run on the base
   commit (those that fail there pin the change, and win a coverage tie), and so do the
   baseline's failing tests: one that passes on the base is broken by the change, a finding
   (``test_generation.fail_on: [broken_tests]`` fails the check).
6. **Mutants** (:mod:`.proof`, :func:`.produce.score_mutants`): small bugs put into the
   changed lines, each run against the tests that run its line, forked in one pytest session
   in the sandbox: how many the existing tests kill, and how many with the kept tests; a
   notice on each line where one survives.

The part's budget (:mod:`.budget`) caps wall time, LLM iterations and cost across all of it;
:mod:`.report` renders the result and :mod:`.deliver` puts kept tests in front of people.
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
