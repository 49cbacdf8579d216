"""Each test's outcome from the JSON report vitest and jest write (plain data)."""

from __future__ import annotations

import json
from pathlib import Path

from jobs.languages.javascript.run_results import Outcome, ReportProblem, parse_results

ROOT = Path("/c")
# The shape vitest 4.1's json reporter wrote for a real run here (trimmed)
REPORT = {
    "numTotalTests": 4,
    "success": False,
    "testResults": [
        {
            "name": "/c/src/broken.test.ts",
            "status": "failed",
            "message": "Cannot find module './missing' imported from /c/src/broken.test.ts",
            "assertionResults": [],
        },
        {
            "name": "/c/src/fail.test.ts",
            "status": "failed",
            "message": "",
            "assertionResults": [
                {
                    "ancestorTitles": [],
                    "title": "wrong",
                    "status": "failed",
                    "failureMessages": ["AssertionError: expected -1 to be 7\n    at …", "x"],
                }
            ],
        },
        {
            "name": "/c/src/nested.test.ts",
            "status": "passed",
            "assertionResults": [
                {"ancestorTitles": ["outer", "inner"], "title": "deep", "status": "passed"},
                {"ancestorTitles": [], "title": "later", "status": "todo"},
                {"ancestorTitles": [], "title": "off", "status": "pending"},
            ],
        },
    ],
}


def test_outcomes_by_test_id_and_files_that_did_not_load() -> None:
    found = parse_results(json.dumps(REPORT), ROOT)
    assert not isinstance(found, ReportProblem)
    assert found.unloaded == {
        "src/broken.test.ts": "Cannot find module './missing' imported from /c/src/broken.test.ts"
    }
    assert found.tests == {
        "src/fail.test.ts > wrong": Outcome("fail", "AssertionError: expected -1 to be 7"),
        "src/nested.test.ts > outer > inner > deep": Outcome("pass"),
        "src/nested.test.ts > later": Outcome("skip"),
        "src/nested.test.ts > off": Outcome("skip"),
    }
    # a file that did not load is not a test that ran and failed
    assert (found.count("fail"), found.count("pass")) == (1, 1)
    assert list(found.failed()) == ["src/fail.test.ts > wrong"]


def test_a_report_that_is_not_one_is_a_problem_not_an_exception() -> None:
    assert parse_results("{", ROOT) == ReportProblem(
        "the test report is not JSON: Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)"
    )
    assert parse_results("[]", ROOT) == ReportProblem("the test report has no testResults")
    long = {
        "testResults": [
            {
                "name": "/c/a.test.js",
                "assertionResults": [
                    {"title": "t", "status": "failed", "failureMessages": ["x" * 2000]}
                ],
            }
        ]
    }
    found = parse_results(json.dumps(long), ROOT)
    assert not isinstance(found, ReportProblem)
    assert len(found.tests["a.test.js > t"].message) == 500
