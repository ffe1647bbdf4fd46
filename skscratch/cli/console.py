"""The ``skscratch`` command's entry point: the console script, and ``python -m skscratch``.

It takes charge of Ctrl-C (:mod:`skscratch._engine.ctrl_c`, standard library
only) before the commands, and NumPy, scikit-learn and pandas with them, are
imported; then it runs them and ends the process itself.
"""

import atexit
import contextlib
import os
import signal
import sys

from .._engine.ctrl_c import BROKEN_PIPE, INTERRUPTED, CtrlC


def console_main():
    """Run the ``skscratch`` command: the console script, and ``python -m skscratch``."""
    ctrl_c = CtrlC()
    try:
        try:
            signal.signal(signal.SIGINT, ctrl_c)  # before the slow imports below
            if hasattr(sys.stdout, "reconfigure"):
                sys.stdout.reconfigure(line_buffering=True)  # progress shows as it happens, even in a pipe
            from ._commands import main

            code = main()
        finally:
            ctrl_c.hold_forever()  # a press from now on must not print a traceback: it is counted
    except KeyboardInterrupt:  # during start-up, or as main returned: main reports its own
        code = INTERRUPTED
        print("skscratch: interrupted", file=sys.stderr)
    except BrokenPipeError:  # skscratch ... | head: stop quietly, as other Unix tools do
        code = BROKEN_PIPE
        _discard_output()
    except Exception:  # what C code made of a raised press (a second one, raised inside an import), or a bug
        if not ctrl_c.delivered:
            raise
        code = INTERRUPTED
        print("skscratch: interrupted", file=sys.stderr)
    except SystemExit as exc:  # argparse: a usage error, --help
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        if not isinstance(exc.code, (int, type(None))):
            print(exc.code, file=sys.stderr)
    _end_process(code, ctrl_c)


def _end_process(code, ctrl_c):
    """End the process with exit status ``code``, or 130 if Ctrl-C was pressed at any moment until then.

    Python's own shutdown, which follows the exit handlers, puts back the
    default handling of SIGINT, by which a press there killed the process
    (wait status -2, not 130). So the process ends here instead: the exit
    handlers run (``atexit``), the output is flushed, and ``os._exit`` ends
    it, with Ctrl-C held and counted all along. What that skips, Python
    freeing each module's objects, writes nothing (every file of ours is
    closed by then), and takes a few tenths of a second.
    """
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)  # (CPython's and PyPy's)
    if run_exit_handlers is None:  # elsewhere: Python's own exit, and its teardown
        sys.exit(INTERRUPTED if ctrl_c.presses else code)
    run_exit_handlers()  # as Python's exit runs them: each handler's error is reported, not raised
    try:
        if sys.stdout is not None:  # (None: the command was started with stdout closed)
            sys.stdout.flush()
    except BrokenPipeError:  # the reader went away as the last lines went out
        code = code or BROKEN_PIPE
    except (OSError, ValueError):
        pass
    with contextlib.suppress(OSError, ValueError):
        if ctrl_c.presses and code != INTERRUPTED:  # pressed as the command ended: main could not tell
            code, success = INTERRUPTED, code == 0
            if success and sys.stderr is not None:  # (an error's line is there already)
                print("skscratch: interrupted", file=sys.stderr)
        if sys.stderr is not None:
            sys.stderr.flush()
    os._exit(code)


def _discard_output():
    """Point stdout at /dev/null, so that flushing it at exit raises no second BrokenPipeError."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass
