"""The refactoring review: diff-aware metrics, duplication and an optional LLM pass.

The review measures every function of a changed file in the PR's head and in its base (the
merge base, as in the PR's diff) and reports a function only where the PR made it worse:
it overlaps changed lines, a metric is over its threshold, and the function is new or the
metric grew. Problems the PR did not introduce are only counted. Added code that repeats code
elsewhere in the head tree is reported with both places. Only the languages the repository
enables (``refactoring_review.languages``) are looked at.

Modules, from pure to I/O:

* :mod:`~jobs.review.metrics`: languages, and the numbers of each function (radon, ``ast``,
  lizard);
* :mod:`~jobs.review.rules`: thresholds, the metric table, findings, the per-file rules and
  which files are not fit for review;
* :mod:`~jobs.review.duplication`: duplicated blocks of added code;
* :mod:`~jobs.review.sources`: :func:`review_checkout`, which reads a local git checkout
  (the diff through :mod:`jobs.diff`, sources from git objects) and applies the above;
* :mod:`~jobs.review.review_llm`: the LLM pass over the worst touched functions;
* :mod:`~jobs.review.review_report`: findings at their configured level, summary and annotations;
* :mod:`~jobs.review.review_job`: the arq part: clone, :func:`analyse`, post suggested changes.
"""

from jobs.review.review_job import analyse, review
from jobs.review.review_llm import CodeSuggestion, LlmPass
from jobs.review.review_report import review_result, summarize
from jobs.review.rules import Finding, Thresholds, review_source
from jobs.review.sources import ReviewResult, review_checkout

__all__ = [
    "CodeSuggestion",
    "Finding",
    "LlmPass",
    "ReviewResult",
    "Thresholds",
    "analyse",
    "review",
    "review_checkout",
    "review_result",
    "review_source",
    "summarize",
]
