"""Ctrl-C's handler (``skscratch._engine.ctrl_c``): a press during an import waits for the import to end.

The command's own runs (presses at exact moments in a real ``skscratch``) are in ``test_attack_cli.py``
and ``test_cli_errors.py``; here the handler itself. Real signals are sent only in a fresh Python, so that
a wrong handler can never interrupt the test session.
"""

import importlib.abc
import importlib.util
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from skscratch._engine import ctrl_c as ctrl_c_module
from skscratch._engine.ctrl_c import CtrlC, _import_frames
from skscratch.cli import CommandError


class RunWhenImported(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """A module ``name`` whose import runs ``code()``: Python's import system is on the stack meanwhile."""

    def __init__(self, name, code):
        self.name, self.code = name, code

    def find_spec(self, fullname, path=None, target=None):
        return importlib.util.spec_from_loader(fullname, self) if fullname == self.name else None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        self.code()


@pytest.fixture
def importing(monkeypatch):
    """``importing(code)`` imports a new module whose import runs ``code()``; returns what it returned."""
    def run(code):
        result = []
        name = f"_skscratch_test_module_{id(result)}"
        monkeypatch.setattr(sys, "meta_path", [RunWhenImported(name, lambda: result.append(code())), *sys.meta_path])
        monkeypatch.delitem(sys.modules, name, raising=False)
        __import__(name)
        return result[0]
    return run


def test_the_import_system_is_seen_on_the_stack(importing):
    assert _import_frames(sys._getframe()) == _import_frames(None) == 0
    one = importing(lambda: _import_frames(sys._getframe()))
    two = importing(lambda: importing(lambda: _import_frames(sys._getframe())))
    assert 0 < one < two


def test_a_press_during_an_import_is_kept_for_later(importing):
    """Called inside the import, the handler raises nothing; the press is counted and delivered after."""
    ctrl_c = CtrlC()  # not SIGINT's handler: it asks again only while it is one
    importing(lambda: ctrl_c(signal.SIGINT, sys._getframe()))  # no KeyboardInterrupt inside the import
    assert ctrl_c.presses == 1 and not ctrl_c.delivered
    with pytest.raises(KeyboardInterrupt):
        ctrl_c(signal.SIGINT, sys._getframe())  # outside it, the first press goes out
    assert ctrl_c.presses == 2 and ctrl_c.delivered
    ctrl_c(signal.SIGINT, sys._getframe())  # later ones are only counted
    assert ctrl_c.presses == 3


def test_outside_an_import_the_first_press_raises_at_once():
    ctrl_c = CtrlC()
    with pytest.raises(KeyboardInterrupt):
        ctrl_c(signal.SIGINT, sys._getframe())
    assert ctrl_c.presses == 1 and ctrl_c.delivered


def test_a_program_that_runs_as_it_is_imported_is_interrupted_at_once(importing):
    """``import my_training``: the program runs inside that import, and only its own imports keep a press."""
    def program():
        ctrl_c = CtrlC()  # as handling_ctrl_c makes it, inside the import
        importing(lambda: ctrl_c(signal.SIGINT, sys._getframe()))  # an import of the program's: kept
        assert ctrl_c.presses == 1 and not ctrl_c.delivered
        try:
            ctrl_c(signal.SIGINT, sys._getframe())  # the program's own work
        except KeyboardInterrupt:
            return ctrl_c.presses
    assert importing(program) == 2


def test_a_press_a_second_after_a_kept_one_is_raised_even_inside_the_import(importing, monkeypatch):
    """An import that hangs can still be stopped; two presses in a row are still kept."""
    ctrl_c = CtrlC()
    importing(lambda: [ctrl_c(signal.SIGINT, sys._getframe()) for _ in range(2)])
    assert ctrl_c.presses == 2 and not ctrl_c.delivered
    monkeypatch.setattr(ctrl_c_module, "INSIST_AFTER_S", 0.0)
    with pytest.raises(KeyboardInterrupt):
        importing(lambda: ctrl_c(signal.SIGINT, sys._getframe()))
    assert ctrl_c.presses == 3 and ctrl_c.delivered


def test_held_wins_over_an_import(importing):
    ctrl_c = CtrlC()
    with pytest.raises(KeyboardInterrupt):
        with ctrl_c.held():
            importing(lambda: ctrl_c(signal.SIGINT, sys._getframe()))
            assert not ctrl_c.delivered
    assert ctrl_c.presses == 1 and ctrl_c.delivered


def run_python(*parts, flags=()):
    code = "".join(textwrap.dedent(part) for part in parts)
    result = subprocess.run([sys.executable, *flags, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


IMPORT_THAT_PRESSES = """
    import importlib.abc, importlib.util, os, signal, sys, time
    from skscratch._engine.ctrl_c import CtrlC, handling_ctrl_c

    seen = []

    class Pressing(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, fullname, path=None, target=None):
            return importlib.util.spec_from_loader(fullname, self) if fullname == "pressing" else None

        def create_module(self, spec):
            return None

        def exec_module(self, module):
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.2)  # the handler runs here, and asks again some twenty times
                seen.append("import ended")
            except KeyboardInterrupt:
                seen.append("KeyboardInterrupt inside the import")

    sys.meta_path.insert(0, Pressing())
"""


def test_a_real_press_during_an_import_is_raised_once_the_import_has_ended():
    out = run_python(IMPORT_THAT_PRESSES, """
        with handling_ctrl_c() as ctrl_c:
            try:
                import pressing
                seen.append("after the import")
                time.sleep(600)  # a wait: the press asking again must end it, as a press does
                seen.append("never delivered")
            except KeyboardInterrupt:
                seen.append("KeyboardInterrupt")
        print(seen, ctrl_c.presses)
    """)
    assert out == "['import ended', 'after the import', 'KeyboardInterrupt'] 1\n"  # asking again is no press


def test_a_kept_press_asks_again_once_and_only_after_the_import():
    """Each signal makes the system calls under way fail with EINTR, which C code inside an import may not
    retry: one signal, the press's own, while the import runs (0.2 s), and one after it."""
    out = run_python(IMPORT_THAT_PRESSES, """
        sent = []
        pthread_kill = signal.pthread_kill
        signal.pthread_kill = lambda *args: (sent.append("import ended" in seen),
                                             pthread_kill(*args))
        with handling_ctrl_c() as ctrl_c:
            try:
                import pressing
                time.sleep(600)
            except KeyboardInterrupt:
                seen.append("KeyboardInterrupt")
        print(seen, sent)
    """)
    assert out == "['import ended', 'KeyboardInterrupt'] [True]\n"


def test_the_frozen_import_system_is_seen_before_importlib_is_imported():
    """``python -S``: until ``importlib`` is imported, the import system's modules keep their frozen names."""
    out = run_python(f"""
        import sys
        sys.path.insert(0, {str(Path(ctrl_c_module.__file__).parents[2])!r})
        import _frozen_importlib
        from skscratch._engine.ctrl_c import _import_frames

        class Counting:
            def find_spec(self, name, path=None, target=None):
                return _frozen_importlib.ModuleSpec(name, self) if name == "counting" else None

            def create_module(self, spec):
                return None

            def exec_module(self, module):
                module.frames = _import_frames(sys._getframe())

        sys.meta_path.insert(0, Counting())
        import counting
        print("importlib" in sys.modules, _frozen_importlib.__name__, counting.frames > 0)
    """, flags=["-S"])
    assert out == "False _frozen_importlib True\n"


def test_a_press_kept_for_later_never_reaches_the_handler_put_back():
    """The import ends the block, and with it our handler: Python's own, back, must never see the press."""
    out = run_python(IMPORT_THAT_PRESSES, """
        with handling_ctrl_c() as ctrl_c:
            import pressing
        try:
            time.sleep(0.3)
            seen.append("no KeyboardInterrupt")
        except KeyboardInterrupt:
            seen.append("KeyboardInterrupt after the block")
        print(seen, ctrl_c.presses, signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    """)
    assert out == "['import ended', 'no KeyboardInterrupt'] 1 True\n"


@pytest.mark.parametrize("error, said", [
    (RuntimeError("callback failed"), "interrupted"),  # C code that turned the KeyboardInterrupt into its own
    (ImportError('PyCapsule_Import could not import module "datetime"'), "interrupted"),
    (OSError(28, "No space left on device", "model.npz"), "error: model.npz: No space left on device"),
    (CommandError("cannot save the model to m.npz: disk full"), "error: cannot save the model to m.npz: disk full"),
])
def test_an_unexpected_error_that_follows_a_press_is_the_press(monkeypatch, capsys, error, said):
    """An error of the user's or the system's after the press (the model saved as it was, and then not) is
    said, with exit status 130; one that is no such error is what the press became, and is not a bug."""
    from skscratch import cli
    from skscratch._engine.ctrl_c import current_ctrl_c
    from skscratch.cli import _commands

    def pressing_evaluate(*args, **kwargs):
        try:
            current_ctrl_c()(signal.SIGINT, sys._getframe())  # the press, raised here
        except KeyboardInterrupt:
            raise error from None

    monkeypatch.setattr(_commands, "evaluate", pressing_evaluate)
    assert cli.main(["evaluate", "--model", "m.npz", "--data", "digits"]) == 130
    assert capsys.readouterr().err == f"skscratch evaluate: {said}\n"
