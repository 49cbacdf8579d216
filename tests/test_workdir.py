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
