"""Scripts that run inside the sandbox, as files: linted and type-checked like the rest.

Each one runs with the sandbox's python (the tools' or the project's environment), the
standard library and what that environment has, never with Tandem's own packages. They reach
the sandbox as files in the checkout's work dir (:func:`jobs.sandbox.workdir.copy_script`; the
checkout is what a docker sandbox mounts) or, when they must run with ``python -I -c`` before
any environment exists, as their text (:func:`jobs.sandbox.workdir.script_text`).

- :mod:`.tandem_pytest_plugins`: the arguments both pytest launchers add (``--no-cov``, the
  tools' plugins turned off); also where its two file names are defined.
- :mod:`.run_pytest`: pytest, optionally under ``coverage run``, as the project configures it.
- :mod:`.tandem_per_test`: what each test of a run runs of some files, recorded once in the
  baseline for the mutant runner (which also takes its ``Recorder``).
- :mod:`.run_base_pytest`: the project's tests on the base commit's tree.
- :mod:`.run_mutants`: the mutant runner (:mod:`jobs.testgen.proof.runner`) with those arguments.
- :mod:`.make_env`: the project's environment, behind which the tools' come.
- :mod:`.crosshair_cover`, :mod:`.crosshair_diffbehavior`: CrossHair, its report to a file.
- :mod:`.tools_view`: the project environment's view of the tools' distributions.
- :mod:`.find_missing`: the top-level names the project's environment cannot import.
"""
