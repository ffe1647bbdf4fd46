"""Installing skscratch never breaks it: the numba kernels cache in the user's cache folder, never in the package.

numba's default (``njit(cache=True)``) writes the compiled kernels into the
``__pycache__`` next to ``_kernels.py``: inside ``site-packages/skscratch``.
pip does not know those files, so when that install is replaced (``pip
install -e .``, an upgrade) or uninstalled it leaves the folder behind, and
Python then takes the empty folder for a namespace package that hides the
next install: ``cannot import name 'MLPScratchClassifier' from 'skscratch'
(unknown location)``.

End to end, in a venv of its own made here without downloading anything: a
regular install of a copy of the repository, a fit that compiles the
kernels, then ``pip install -e``, ``pip uninstall`` and a reinstall, each
followed by an import from a neutral folder. Then the unusable cache
folders: a fit must still train, compiling per process, and write nothing
in the package. First, what ``cache_dir`` names on each platform and how the
cache behaves in this process.
"""

import importlib.util
import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import numpy as np
import pytest

from skscratch._engine import kernels as _kernels

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(_kernels.__file__).parent


# -- where the cache is ---------------------------------------------------------------------------------------

HOME = os.path.abspath("/home/ada")
LOCAL = os.path.abspath("/Users/ada/AppData/Local")


@pytest.mark.parametrize("platform, environ, expected", [
    ("linux", {"HOME": HOME}, (HOME, ".cache", "skscratch", "numba")),
    ("linux", {"HOME": HOME, "XDG_CACHE_HOME": "/var/cache/ada"}, ("/var/cache/ada", "skscratch", "numba")),
    ("linux", {"HOME": HOME, "XDG_CACHE_HOME": ""}, (HOME, ".cache", "skscratch", "numba")),
    ("linux", {"HOME": HOME, "XDG_CACHE_HOME": "cache"}, (HOME, ".cache", "skscratch", "numba")),  # relative: ignored
    ("darwin", {"HOME": HOME, "XDG_CACHE_HOME": "/var/cache/ada"}, (HOME, "Library", "Caches", "skscratch", "numba")),
    ("win32", {"LOCALAPPDATA": LOCAL}, (LOCAL, "skscratch", "Cache", "numba")),
    ("win32", {"USERPROFILE": os.path.dirname(os.path.dirname(LOCAL))}, (LOCAL, "skscratch", "Cache", "numba")),
    ("linux", {"HOME": HOME, "XDG_CACHE_HOME": "/x", "NUMBA_CACHE_DIR": "/nb"}, ("/nb",)),  # numba's own setting
    ("linux", {"HOME": HOME, "NUMBA_CACHE_DIR": "/nb", "SKSCRATCH_CACHE_DIR": "/sk"}, ("/sk", "numba")),  # ours first
    ("win32", {"LOCALAPPDATA": LOCAL, "SKSCRATCH_CACHE_DIR": "/sk"}, ("/sk", "numba")),
    ("linux", {"HOME": "nowhere"}, None),  # no home folder: no cache, compiled per process
])
def test_the_cache_folder_follows_the_platform(platform, environ, expected):
    expected = expected and os.path.join(os.path.abspath(expected[0]), *expected[1:])
    assert _kernels.cache_dir(environ, platform) == expected


def test_a_relative_override_is_made_absolute(tmp_path, monkeypatch):
    """A relative ``SKSCRATCH_CACHE_DIR`` is taken from where it is set, not from where each kernel compiles."""
    monkeypatch.chdir(tmp_path)
    assert _kernels.cache_dir({"SKSCRATCH_CACHE_DIR": "here"}, "linux") == str(tmp_path / "here" / "numba")


def test_the_default_folder_is_outside_the_package():
    folder = _kernels.cache_dir()
    assert folder is None or not Path(folder).resolve().is_relative_to(PACKAGE.resolve())


# -- the cache in this process ------------------------------------------------------------------------------


def sgd(kernel):
    """Run the SGD kernel once on small arrays; return the parameters it stepped."""
    params = np.linspace(-1.0, 1.0, 7)
    kernel(params, np.full(7, 0.5), np.zeros(7), 0.1, 0.9, True)
    return params


def counts(kernel):
    """(cache hits, cache misses): loaded from the cache, compiled."""
    return sum(kernel.stats.cache_hits.values()), sum(kernel.stats.cache_misses.values())


def stray_cache(folder):
    """numba's cache files (and their temporary files) anywhere under ``folder``."""
    return sorted(str(p) for p in folder.rglob("*") if p.suffix in (".nbi", ".nbc") or ".tmp." in p.name)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """``SKSCRATCH_CACHE_DIR`` set to a fresh folder: the kernels' cache is ``<it>/numba``."""
    pytest.importorskip("numba")
    monkeypatch.setenv("SKSCRATCH_CACHE_DIR", str(tmp_path))
    return tmp_path / "numba"


def test_a_kernel_is_compiled_once_and_then_loaded_from_the_cache(cache):
    before = stray_cache(PACKAGE)  # the checkout's may hold some, made by skscratch before 0.1.0
    first = _kernels._jit(_kernels._sgd_step)
    expected = sgd(first)
    assert counts(first) == (0, 1)  # compiled, and saved
    assert Path(first.stats.cache_path).parent == cache
    assert {p.suffix for p in Path(first.stats.cache_path).iterdir()} == {".nbi", ".nbc"}
    second = _kernels._jit(_kernels._sgd_step)  # as in the next process
    np.testing.assert_array_equal(sgd(second), expected)
    assert counts(second) == (1, 0)  # loaded, not compiled
    assert stray_cache(PACKAGE) == before


def test_a_corrupt_cache_entry_is_compiled_again_and_replaced(cache):
    sgd(_kernels._jit(_kernels._sgd_step))
    (index,) = cache.glob("*/*_sgd_step*.nbi")
    index.write_bytes(b"not a pickle")
    again = _kernels._jit(_kernels._sgd_step)
    sgd(again)
    assert counts(again) == (0, 1)  # compiled, and the index written afresh
    repaired = _kernels._jit(_kernels._sgd_step)
    sgd(repaired)
    assert counts(repaired) == (1, 0)


def test_an_unusable_cache_folder_compiles_per_process(cache):
    """A file where the folder should be stops even root (read-only folders: in a venv, below)."""
    cache.write_text("not a folder")
    before = stray_cache(PACKAGE)
    kernel = _kernels._jit(_kernels._sgd_step)
    np.testing.assert_array_equal(sgd(kernel), sgd(_kernels._sgd_step))  # the plain Python: the same steps
    assert kernel.stats.cache_path is None and counts(kernel) == (0, 1)  # no cache: compiled here
    assert cache.read_text() == "not a folder"
    assert stray_cache(PACKAGE) == before  # and not numba's fallback, the package's __pycache__


def test_numbas_locator_setting_cannot_send_the_cache_into_the_package(cache, monkeypatch):
    """NUMBA_CACHE_LOCATOR_CLASSES (numba >= 0.62) replaces every cache's locators, ours too: no cache then."""
    import numba

    monkeypatch.setattr(numba.config, "CACHE_LOCATOR_CLASSES", "InTreeCacheLocator", raising=False)
    before = stray_cache(PACKAGE)
    kernel = _kernels._jit(_kernels._sgd_step)
    sgd(kernel)
    assert kernel.stats.cache_path is None
    assert stray_cache(PACKAGE) == before and not cache.exists()


# -- end to end, in a venv of its own -----------------------------------------------------------------------

FIT = """
import json, sys, warnings
from sklearn.datasets import load_digits
import skscratch
from skscratch import MLPScratchClassifier
from skscratch._engine import kernels as _kernels
X, y = load_digits(return_X_y=True)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # one epoch: it has not converged
    clf = MLPScratchClassifier((3200,), max_iter=1, random_state=0).fit(X / 16, y)
assert clf._get_flat_params().size >= _kernels.MIN_PARAMS
kernel = _kernels._compiled.get(_kernels._adam_step)  # compiled on first use: the kernels stepped Adam
print(json.dumps({"package": skscratch.__file__, "numba": "numba" in sys.modules, "fused": kernel is not None,
                  "cache": getattr(getattr(kernel, "stats", None), "cache_path", None)}))
"""

IMPORT = "import skscratch; from skscratch import MLPScratchClassifier; print(skscratch.__file__)"


class Venv:
    """A venv in ``folder`` that sees this environment's packages, but not its skscratch, downloading nothing.

    Its site-packages holds one ``.pth`` naming a folder of links to what this
    environment's site-packages hold, less skscratch (its dist-info and its
    editable finder): pip in the venv must not see, nor try to uninstall,
    the skscratch this suite runs from: naming this environment's
    site-packages itself would show its skscratch dist-info to pip and
    ``importlib.metadata`` (its editable finder would not run: ``site`` runs
    the ``.pth`` files of site folders only). ``check_isolated`` makes sure.
    pip and setuptools come through the links.
    """

    def __init__(self, folder):
        self.folder = folder
        self.cache = folder / "cache"  # XDG_CACHE_HOME, the user's real cache left alone
        self.neutral = folder / "elsewhere"  # the working folder: not the repository, not the tree
        self.neutral.mkdir()
        venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(folder / "venv")
        self.python = folder / "venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        self.site = Path(self.run("-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip())
        links = folder / "deps"
        links.mkdir()
        user_site = [site.getusersitepackages()] if site.ENABLE_USER_SITE else []
        for site_folder in dict.fromkeys([*site.getsitepackages(), sysconfig.get_path("purelib"), *user_site]):
            for entry in Path(site_folder).glob("*") if Path(site_folder).is_dir() else ():
                name = entry.name.lower()
                if name.startswith(("skscratch", "__editable__")) or name.endswith(".pth"):
                    continue
                if not (links / entry.name).exists():
                    (links / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
        (self.site / "parent-environment.pth").write_text(f"{links}\n")
        self.tree = folder / "tree"  # a copy: building writes build/ and *.egg-info into the tree
        shutil.copytree(ROOT, self.tree, ignore=shutil.ignore_patterns(
            ".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".*cache", "_build"))

    def environ(self, **extra):
        keep = {k: v for k, v in os.environ.items()
                if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV", "SKSCRATCH_", "NUMBA_", "XDG_", "__PYVENV"))}
        return {**keep, "HOME": str(self.folder / "home"), "XDG_CACHE_HOME": str(self.cache),
                "PIP_CONFIG_FILE": os.devnull, "PIP_NO_CACHE_DIR": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                "PIP_NO_INPUT": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", **extra}

    def run(self, *args, prefix=(), check=True, **extra):
        result = subprocess.run([*prefix, str(self.python), *args], capture_output=True, text=True, timeout=300,
                                cwd=self.neutral, env=self.environ(**extra))
        if check:
            assert result.returncode == 0, f"{args}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
        return result.stdout if check else result

    def pip(self, *args):
        return self.run("-m", "pip", *args)

    def install(self, *, editable=False):
        self.pip("install", "--no-deps", "--no-build-isolation", "--no-index", *(["-e"] if editable else []),
                 str(self.tree))

    def check_import(self, inside):
        """``from skscratch import MLPScratchClassifier`` from the neutral folder, finding the package in ``inside``."""
        package = Path(self.run("-c", IMPORT).strip())
        assert package.is_relative_to(inside), package
        return package

    def installed_files(self):
        return {path.relative_to(self.site) for path in (self.site / "skscratch").rglob("*")}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """The venv, with a regular install of the tree."""
    pytest.importorskip("numba")
    if os.name == "nt":
        pytest.skip("the venv links this environment's packages: symbolic links need privileges on Windows")
    for tool in ("pip", "setuptools"):
        if importlib.util.find_spec(tool) is None:
            pytest.skip(f"{tool} is not installed: a venv cannot be made and filled without downloading")
    env = Venv(tmp_path_factory.mktemp("install"))
    check_isolated(env)
    env.install()
    return env


def check_isolated(env):
    """Before any install, the venv sees no skscratch at all (no editable finder, no dist-info), but sees numba."""
    code = ("import importlib.metadata as m, importlib.util as u, sys\n"
            "print(u.find_spec('skscratch'), u.find_spec('numba') is not None,"
            " [d.metadata['Name'] for d in m.distributions() if d.metadata['Name'] == 'skscratch'],"
            " [k for k in sys.modules if 'editable' in k])")
    assert env.run("-c", code).strip() == "None True [] []"


def test_a_fit_leaves_the_installed_package_as_pip_made_it_and_every_reinstall_imports(env):
    # a regular install, and a fit that compiles the kernels
    assert (env.site / "skscratch" / "__init__.py").is_file()
    installed = env.installed_files()
    fit = json.loads(env.run("-c", FIT))
    assert Path(fit["package"]).is_relative_to(env.site)  # the regular install ran, not the tree
    assert fit["numba"] and fit["fused"]
    assert stray_cache(env.site / "skscratch") == []
    assert env.installed_files() == installed  # nothing at all added: pip can remove what it made
    assert Path(fit["cache"]).is_relative_to(env.cache / "skscratch" / "numba")
    assert {Path(p).suffix for p in stray_cache(env.cache)} == {".nbi", ".nbc"}

    # replaced by an editable install of the same tree (the README's test command)
    env.install(editable=True)
    env.check_import(env.tree)  # before 0.1.0: ImportError, an empty namespace package hid the tree
    assert not (env.site / "skscratch").exists()  # pip removed it all, nothing left to shadow the new install

    # uninstalled: nothing left, not even an empty namespace package
    env.pip("uninstall", "-y", "skscratch")
    missing = env.run("-c", IMPORT, check=False)
    assert missing.returncode == 1 and "ModuleNotFoundError: No module named 'skscratch'" in missing.stderr
    assert not (env.site / "skscratch").exists()

    # and installed again
    env.install()
    env.check_import(env.site)
    assert env.installed_files() == installed


def drop_root_powers():
    """A command prefix under which root obeys file modes (without CAP_DAC_OVERRIDE), or () for other users."""
    if os.name == "nt":
        pytest.skip("file modes do not make a folder read-only on Windows")
    if os.geteuid() != 0:
        return ()
    if shutil.which("setpriv") is None:
        pytest.skip("running as root, which file modes do not stop, and without setpriv to drop that power")
    return ("setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--")


PROBE = """
try:
    open({!r}, "w")
except PermissionError:
    print("refused")
else:
    print("written")
"""


@pytest.mark.parametrize("unusable", ["read-only", "uncreatable", "a file"])
def test_an_unusable_cache_folder_still_trains_and_writes_nothing_into_the_package(env, tmp_path, unusable):
    if not (env.site / "skscratch" / "__init__.py").is_file():
        env.install()  # run alone, or after a failure of the test above
    prefix = () if unusable == "a file" else drop_root_powers()
    cache = tmp_path / "cache"  # XDG_CACHE_HOME: the kernels' folder is cache/skscratch/numba
    locked = {"read-only": cache / "skscratch" / "numba", "uncreatable": cache, "a file": None}[unusable]
    if locked is None:  # a regular file where the folder should be: unusable even by root
        cache.write_text("not a folder")
    else:  # read-only: the kernels' folder itself, or a folder above it that does not hold it yet
        locked.mkdir(parents=True)
        locked.chmod(0o500)
    installed = env.installed_files()
    try:
        if locked is not None:
            probe = env.run("-c", PROBE.format(str(locked / "probe")), prefix=prefix, check=False)
            if probe.stdout.strip() != "refused":
                pytest.skip(f"cannot make a folder read-only here ({' '.join(prefix) or 'its mode'}): "
                            f"{probe.stdout.strip()} {probe.stderr[-500:]}")
        fit = json.loads(env.run("-c", FIT, prefix=prefix, XDG_CACHE_HOME=str(cache)))
        assert fit["fused"] and fit["cache"] is None  # trained with the kernels, compiled in the process
        assert Path(fit["package"]).is_relative_to(env.site)
        assert env.installed_files() == installed  # no fallback into the package's __pycache__
        assert stray_cache(tmp_path) == []
    finally:
        if locked is not None:
            locked.chmod(0o700)  # for pytest to remove it
