"""Projects whose version comes from git (pure: parsed file data in, environment out).

A build backend such as setuptools-scm or hatch-vcs (which uses setuptools-scm) asks git for
the version. Tandem fetches the PR without tags (``jobs.checkout``), and in the Docker sandbox
git may not read the mounted checkout at all, so such a build gets no version, or fails
("setuptools-scm was unable to detect version"). setuptools-scm's documented override is an
environment variable: :func:`pretend_version` says which one to set, to what, and the line the
install summary adds. The variable is the one for this distribution only
(``SETUPTOOLS_SCM_PRETEND_VERSION_FOR_<DIST>``), so packages built from sdists in the same
install keep their own versions; the plain ``SETUPTOOLS_SCM_PRETEND_VERSION`` only when the
project's name cannot be read.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

SCM_BACKENDS = frozenset({"setuptools-scm", "hatch-vcs"})
DEFAULT_VERSION = "0.0.0"
PRETEND = "SETUPTOOLS_SCM_PRETEND_VERSION"
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")  # PEP 508 names


@dataclass(frozen=True)
class PretendVersion:
    variable: str  # SETUPTOOLS_SCM_PRETEND_VERSION_FOR_APP
    version: str  # a valid PEP 440 version
    backend: str  # "setuptools-scm", "hatch-vcs"
    dist: str | None = None  # the distribution's name, normalised, where a file says it
    borrowed: bool = False  # the version is the one the measuring tools have installed

    def describe(self) -> str:
        why = (
            ", the version the measuring tools have (they depend on it, and 0.0.0 would not "
            "satisfy them)"
            if self.borrowed
            else ""
        )
        return (
            f"Its version comes from git ({self.backend}) and the checkout has no tags: it was "
            f"built as version {self.version}{why} ({self.variable})"
        )

    def known_as(self, versions: Mapping[str, str]) -> PretendVersion:
        """This, built as the version ``versions`` (distribution name -> version installed
        beside pytest) has of it: a project pytest itself depends on (pluggy, iniconfig,
        packaging) must satisfy pytest's requirement, which 0.0.0 does not. A fallback version
        the project names itself stays."""
        version = versions.get(self.dist or "")
        if version is None or self.version != DEFAULT_VERSION or _valid_version(version) is None:
            return self
        return dataclasses.replace(self, version=version, borrowed=True)


def pretend_version(
    pyproject: dict[str, object],
    *,
    name: str | None,
    setup_py_uses_scm: bool = False,
    setup_cfg_uses_scm: bool = False,
) -> PretendVersion | None:
    """The variable that gives a git-versioned project its version, or None when its version
    does not come from git. ``name``: the distribution's name where a file says it."""
    tool = _table(pyproject.get("tool"))
    build = _table(pyproject.get("build-system"))
    requires = _requirement_names(build.get("requires"))
    backend = next((b for b in ("hatch-vcs", "setuptools-scm") if b in requires), None)
    project = _table(pyproject.get("project"))
    dynamic = project.get("dynamic")
    dynamic_version = isinstance(dynamic, list) and "version" in dynamic
    scm_config = _table(tool.get("setuptools_scm"))
    hatch_version = _table(_table(tool.get("hatch")).get("version"))
    uses = (
        "setuptools_scm" in tool
        or hatch_version.get("source") == "vcs"
        or (backend is not None and (dynamic_version or not project))
        or setup_py_uses_scm
        or setup_cfg_uses_scm
    )
    if not uses:
        return None
    if hatch_version.get("source") == "vcs":
        backend = "hatch-vcs"
        options = _table(hatch_version.get("raw-options"))
    else:
        backend = backend or "setuptools-scm"
        options = scm_config
    version = _valid_version(options.get("fallback_version")) or DEFAULT_VERSION
    if isinstance(project.get("name"), str):
        name = str(project["name"])
    if name is not None and _NAME.match(name):
        variable = f"{PRETEND}_FOR_{canonicalize_name(name).replace('-', '_').upper()}"
    else:
        variable = PRETEND
    dist = canonicalize_name(name) if name is not None and _NAME.match(name) else None
    return PretendVersion(variable, version, backend, dist)


def _table(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _requirement_names(value: object) -> set[str]:
    names: set[str] = set()
    for item in value if isinstance(value, list) else []:
        if not isinstance(item, str):
            continue
        try:
            names.add(canonicalize_name(Requirement(item).name))
        except InvalidRequirement:
            continue
    return names & SCM_BACKENDS


def _valid_version(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(Version(value))
    except InvalidVersion:
        return None
