"""skscratch as it was at another git revision, to time before and after in one run.

:func:`checkout` extracts the ``skscratch/`` folder of a revision of this
repository (``git archive``, so neither the working tree, the index nor the
list of worktrees is touched) into a temporary directory, and removes it
afterwards. A worker started with :meth:`Baseline.env` has that directory
first on its ``PYTHONPATH``, so ``import skscratch`` finds the revision's
package before the installed one; the worker checks that it did (see
``_contenders.import_library``).
"""

import compileall
import io
import os
import subprocess
import tarfile
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
PACKAGE = "skscratch"


class BaselineError(RuntimeError):
    """The baseline revision cannot be checked out: no git, no such revision, no package."""


@dataclass(frozen=True)
class Baseline:
    """A revision's skscratch, extracted under ``root``; ``revision`` is its short hash."""

    revision: str
    commit: str
    root: str

    def contender(self, name):
        """The baseline twin of a contender: ``skscratch-float32`` -> ``skscratch@46bc5cd-float32``."""
        library, dtype = name.rsplit("-", 1)
        return f"{library}@{self.revision}-{dtype}"

    def env(self):
        """This process's environment, with the revision's package first on ``PYTHONPATH``."""
        paths = [self.root, *filter(None, [os.environ.get("PYTHONPATH")])]
        return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def git(*args, repository=REPOSITORY):
    """The output of ``git -C repository ARGS`` as bytes; BaselineError if it fails."""
    try:
        process = subprocess.run(["git", "-C", str(repository), *args], capture_output=True)
    except OSError as error:
        raise BaselineError(f"git cannot be run: {error}") from None
    if process.returncode != 0:
        message = process.stderr.decode(errors="replace").strip() or f"exit status {process.returncode}"
        raise BaselineError(f"git {' '.join(args)} failed: {message}")
    return process.stdout


@contextmanager
def checkout(revision, repository=REPOSITORY):
    """Extract ``skscratch/`` at ``revision`` into a temporary directory; yield a Baseline.

    The directory is removed when the ``with`` block ends, however it ends.
    """
    try:
        commit = git("rev-parse", "--verify", f"{revision}^{{commit}}",
                     repository=repository).decode().strip()  # fmt: skip
        short = git("rev-parse", "--short", commit, repository=repository).decode().strip()
        archive = git("archive", "--format=tar", commit, PACKAGE, repository=repository)
    except BaselineError as error:
        raise BaselineError(f"cannot check out {PACKAGE} at {revision!r}: {error}") from None
    with tempfile.TemporaryDirectory(prefix=f"skscratch-{short}-") as root:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            # the "data" filter (Python >= 3.12, and 3.10.12 / 3.11.4) refuses links out of root
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(root, **safe)
        if not (Path(root) / PACKAGE / "__init__.py").is_file():
            raise BaselineError(f"{revision} has no {PACKAGE}/__init__.py.")
        # compiled now, as the checkout's own package is by its earlier imports, so
        # that no worker's time or peak memory includes compiling it
        compileall.compile_dir(root, quiet=1)
        yield Baseline(revision=short, commit=commit, root=root)
