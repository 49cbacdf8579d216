"""What a test proves beyond the lines it runs. :mod:`.mutants` makes the mutants of the changed
lines (pure), :mod:`.runner` runs them inside the sandbox (a real file, copied there),
:mod:`.measure` drives it and :mod:`.score` says what came of it in the check run."""
