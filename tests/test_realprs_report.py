"""The real-commit bench's figures of where Tandem's time went: the stages' seconds read from
the part's timings, per case in a table, and their medians in the JSON totals."""

from __future__ import annotations

from rich.console import Console

from bench.realprs.report import print_report, report_json
from bench.realprs.run import CaseResult, read_stages


def case(name: str, seconds: float, stages: dict[str, float]) -> CaseResult:
    result = CaseResult(name, "o/r", "0" * 40, "a case", changed=2)
    result.tandem_seconds = seconds
    result.stage_seconds = stages
    return result


def test_the_stages_are_the_timings_in_seconds_without_the_counts() -> None:
    timings = {
        "dependencies": 8.515,
        "baseline_coverage": 53.605,
        "engine": 15.2,
        "engine_pynguin": 11.868,
        "pytest_runs": 1.0,  # a count, not seconds
        "odd": "x",
    }
    assert read_stages(timings) == {
        "dependencies": 8.5,
        "baseline_coverage": 53.6,
        "engine": 15.2,
        "engine_pynguin": 11.9,
    }
    assert read_stages(None) == {}


def test_each_case_shows_its_stages_and_the_totals_their_medians() -> None:
    results = [
        case("a", 100.0, {"baseline_coverage": 54.0, "engine": 15.0, "engine_pynguin": 12.0}),
        case("b", 60.0, {"baseline_coverage": 10.0, "engine": 30.0, "mutants": 5.0}),
        case("c", 80.0, {"baseline_coverage": 20.0, "engine": 20.0, "mutants": 9.0}),
    ]
    totals = report_json(results)["totals"]
    assert totals["median_tandem_seconds"] == 80.0
    # A stage a case did not run counts 0 there.
    assert totals["median_stage_seconds"] == {
        "baseline_coverage": 20.0,
        "engine": 20.0,
        "engine_pynguin": 0.0,
        "mutants": 5.0,
    }
    console = Console(record=True, width=200)
    print_report(results, console)
    text = console.export_text()
    assert "Where Tandem's time went" in text
    rows = {line.split()[1]: line.split()[2:] for line in text.splitlines() if line[:2] == "│ "}
    # baseline, engine, ·pynguin, mutants, other (tandem less its own stages), tandem
    assert [c for c in rows["a"] if c != "│"][-6:] == ["54", "15", "12", "-", "31", "100"]
    assert [c for c in rows["median"] if c != "│"][-6:] == ["20", "20", "0", "5", "35", "80"]
    assert "median 80.0 s a case" in text
