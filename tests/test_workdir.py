"""The sandbox's scratch folder: Tandem's own files reach it as new files, so whatever the
project's code left there (it runs before Tandem copies its runner and probe in) is replaced,
never written through."""

from __future__ import annotations

from pathlib import Path

from jobs.sandbox import workdir
from jobs.testgen.engines.characterize import PROBE


def test_tandems_files_are_copied_into_the_sandbox_never_through_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("left alone\n")
    for copy, source in (
        (lambda to: workdir.copy_script("run_pytest.py", to), workdir.SCRIPTS / "run_pytest.py"),
        (lambda to: workdir.copy_fresh(PROBE, to), PROBE),
    ):
        planted = tmp_path / "planted.py"
        planted.unlink(missing_ok=True)
        planted.symlink_to(outside)
        copy(planted)
        assert not planted.is_symlink()
        assert planted.read_bytes() == source.read_bytes()
        assert outside.read_text() == "left alone\n"


def test_a_work_dir_the_pr_committed_as_a_symlink_is_replaced_not_written_through(
    tmp_path: Path,
) -> None:
    checkout, elsewhere = tmp_path / "checkout", tmp_path / "elsewhere"
    checkout.mkdir()
    elsewhere.mkdir()
    (elsewhere / "coveragerc").write_text("theirs\n")
    (checkout / workdir.WORK_DIR).symlink_to(elsewhere, target_is_directory=True)
    workdir.prepare(checkout)
    assert not (checkout / workdir.WORK_DIR).is_symlink()
    assert (checkout / workdir.RC_FILE).read_text() == workdir.COVERAGE_RC
    assert sorted(p.name for p in elsewhere.iterdir()) == ["coveragerc"]
    assert (elsewhere / "coveragerc").read_text() == "theirs\n"
    # Files the PR planted inside a real work dir are replaced the same way.
    (checkout / workdir.RC_FILE).unlink()
    (checkout / workdir.RC_FILE).symlink_to(elsewhere / "coveragerc")
    workdir.prepare(checkout)
    assert (checkout / workdir.RC_FILE).read_text() == workdir.COVERAGE_RC
    assert (elsewhere / "coveragerc").read_text() == "theirs\n"


def test_the_engines_inputs_are_written_fresh_where_the_tests_left_a_symlink(
    tmp_path: Path,
) -> None:
    """The project's tests run in the sandbox before the probe's and the capture's inputs are
    written into the scratch folder: a symlink they left there is replaced, not written
    through."""
    outside = tmp_path / "outside.json"
    outside.write_text("left alone\n")
    planted = tmp_path / "input-base.json"
    planted.symlink_to(outside)
    workdir.write_fresh('{"modules": []}', planted)
    assert not planted.is_symlink()
    assert planted.read_text() == '{"modules": []}'
    assert outside.read_text() == "left alone\n"
