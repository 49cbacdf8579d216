"""Where untrusted code (the PR's code and the tests written for it) runs.

Two kinds, one interface (:class:`Sandbox`): ``run(args, cwd=..., timeout_s=...)`` runs one
command in the checkout and returns a :class:`CommandResult`; ``python`` names the interpreter
that has pytest and coverage; ``close()`` releases everything. ``use_python(path)`` switches
later commands to another interpreter (an environment with the PR's dependencies, see
:mod:`jobs.dependencies`), whose directory also goes first on ``PATH``; ``networked(network)``
is where that environment's ``pip install`` runs: the sandbox itself (local), or a short-lived
container like the part's but attached to ``network`` (docker), so the part's own container
never has a network interface.

- :mod:`jobs.sandbox.docker`: ``docker`` (production), one locked-down container per part, and
  the reaping of containers whose worker is gone.
- :mod:`jobs.sandbox.local_sandbox`: ``local``, subprocesses with a scrubbed environment; NOT
  isolation, for development on a trusted machine.
- :mod:`jobs.sandbox.sandbox_protocol`: the interface and what both share.
- :mod:`jobs.sandbox.configured`: the sandbox the settings name (:func:`open_sandbox`,
  :func:`check_sandbox`).
"""

from jobs.sandbox.configured import check_sandbox, open_sandbox
from jobs.sandbox.docker import (
    LABEL,
    LABEL_RUN,
    DockerConfig,
    DockerSandbox,
    docker_client,
    reap_orphans,
    worker_identity,
)
from jobs.sandbox.local_sandbox import LocalSandbox
from jobs.sandbox.sandbox_protocol import (
    CommandResult,
    Sandbox,
    SandboxUnavailable,
    decisive_line,
    last_line,
    sums_up,
    tail,
)

__all__ = [
    "LABEL",
    "LABEL_RUN",
    "CommandResult",
    "DockerConfig",
    "DockerSandbox",
    "LocalSandbox",
    "Sandbox",
    "SandboxUnavailable",
    "check_sandbox",
    "decisive_line",
    "docker_client",
    "last_line",
    "open_sandbox",
    "reap_orphans",
    "sums_up",
    "tail",
    "worker_identity",
]
