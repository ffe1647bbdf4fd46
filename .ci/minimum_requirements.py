"""The declared minimums of pyproject.toml, pinned: what .ci/run's minimum-versions run installs.

    python .ci/minimum_requirements.py            # numpy==1.23.5 scipy==1.11.1 ... (one a line)
    python .ci/minimum_requirements.py --python   # the oldest Python declared: 3.10

Every core dependency must read NAME>=VERSION, and its ">=" becomes "==": the
run tests exactly what pyproject.toml declares, from no second list. Anything
else (no minimum, an upper bound, a marker) stops it, so that no dependency
goes untested. Needs tomllib (Python 3.11+) or tomli.
"""

import re
import sys

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the backport, which .ci/run installs there
    import tomli as tomllib
from pathlib import Path

project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
if sys.argv[1:] == ["--python"]:
    oldest = re.fullmatch(r">=\s*(3\.\d+)", project["requires-python"])
    if oldest is None:
        sys.exit(f"pyproject.toml: requires-python {project['requires-python']!r} is not >=3.X")
    print(oldest[1])
    sys.exit()
for requirement in project["dependencies"]:
    pinned = re.fullmatch(r"([A-Za-z0-9._-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)", requirement)
    if pinned is None:
        sys.exit(f"pyproject.toml: dependency {requirement!r} is not NAME>=VERSION, so it has no minimum to test")
    print(f"{pinned[1]}=={pinned[2]}")
