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

import pytest

from skscratch._engine.ctrl_c import CtrlC, _import_frames


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


def test_held_wins_over_an_import(importing):
    ctrl_c = CtrlC()
    with pytest.raises(KeyboardInterrupt):
        with ctrl_c.held():
            importing(lambda: ctrl_c(signal.SIGINT, sys._getframe()))
            assert not ctrl_c.delivered
    assert ctrl_c.presses == 1 and ctrl_c.delivered


def run_python(*parts):
    code = "".join(textwrap.dedent(part) for part in parts)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
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


def test_an_error_that_follows_a_press_is_reported_as_the_press(monkeypatch, capsys):
    """C code that calls back into Python may turn the KeyboardInterrupt into an error of its own."""
    from skscratch import cli
    from skscratch.cli import _commands

    def evaluate_as_c_code_would(*args, **kwargs):
        try:
            raise KeyboardInterrupt  # (what a press's handler raised)
        except KeyboardInterrupt:
            raise RuntimeError("callback failed") from None

    def pressing_evaluate(*args, **kwargs):
        from skscratch._engine.ctrl_c import current_ctrl_c

        ctrl_c = current_ctrl_c()
        try:
            ctrl_c(signal.SIGINT, sys._getframe())
        except KeyboardInterrupt:
            evaluate_as_c_code_would()

    monkeypatch.setattr(_commands, "evaluate", pressing_evaluate)
    assert cli.main(["evaluate", "--model", "m.npz", "--data", "digits"]) == 130
    assert capsys.readouterr().err == "skscratch evaluate: interrupted\n"
