"""Which servers this environment can run, and the extra that installs one it cannot.

Every server in `shared/axes.py`'s `SERVERS` has an extra of the same name among the
package's optional dependencies (`pip install 'afterward[hypercorn]'`). A server is
installed when every requirement of its extra is: the distribution is there, at a version
the extra allows, with the extras it names in turn (say `uvicorn[standard]`).
"""

from __future__ import annotations

import tomllib
from importlib import metadata

from packaging.requirements import Requirement

from shared.servers import REPO

__all__ = ["DISTRIBUTION", "extra_requirements", "install_hint", "missing", "unmet"]

DISTRIBUTION = "afterward"


def _under(requirement: Requirement, extra: str) -> bool:
    """True when `requirement` applies under `extra` (here), and not without it."""
    marker = requirement.marker
    return marker is not None and marker.evaluate({"extra": extra}) and not marker.evaluate({"extra": ""})


def extra_requirements(extra: str) -> list[Requirement]:
    """The requirements of this package's `extra`: from the installed package's metadata, or
    from pyproject.toml when the suite runs from a checkout that is not installed."""
    try:
        lines = metadata.requires(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        table = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        return [Requirement(r) for r in table.get("optional-dependencies", {}).get(extra, [])]
    return [r for r in map(Requirement, lines or []) if _under(r, extra)]


def unmet(requirement: Requirement, seen: frozenset[str] = frozenset()) -> str | None:
    """None when `requirement` is installed; else what is not, in a few words."""
    try:
        version = metadata.version(requirement.name)
    except metadata.PackageNotFoundError:
        return f"{requirement.name} is not installed"
    if not requirement.specifier.contains(version, prereleases=True):
        return f"{requirement.name} {version} is installed, the extra needs {requirement.specifier}"
    for extra in sorted(requirement.extras - seen):
        for line in metadata.requires(requirement.name) or []:
            needed = Requirement(line)
            problem = _under(needed, extra) and unmet(needed, seen | requirement.extras)
            if problem:
                return f"{problem} (for {requirement.name}[{extra}])"
    return None


def install_hint(server: str) -> str:
    return f"pip install '{DISTRIBUTION}[{server}]'"


def missing(server: str) -> str | None:
    """None when `server` can run here; else one line saying what is missing and what to install."""
    requirements = extra_requirements(server)
    if not requirements:
        return f"--server {server}: the package declares no extra named {server!r} to install it with"
    problems = [p for r in requirements if (p := unmet(r))]
    if not problems:
        return None
    return f"--server {server} is not installed here ({'; '.join(problems)}): {install_hint(server)}"
