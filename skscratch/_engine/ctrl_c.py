"""What Ctrl-C does in the ``skscratch`` command (its entry point is ``skscratch.cli.console``).

This module imports only the standard library, and ``import skscratch``
loads nothing heavy, so the console script and ``python -m skscratch``
take charge of Ctrl-C before NumPy, scikit-learn and pandas start loading
(a second or more). From then on, Ctrl-C at any moment ends the command
with exit status 130 and no traceback:

- the first Ctrl-C raises KeyboardInterrupt where the program is: start-up
  and loading stop there (once an import under way has ended: see below),
  training stops after the current minibatch;
- while a file is being written (:meth:`CtrlC.held`), it waits until the
  file is whole, so an output is written completely or not at all;
- a long task that must stop early, but only where it can stop cleanly,
  runs held and stops at its own checkpoints (:meth:`CtrlC.checkpoint`):
  ``train --animate`` stops drawing between two frames, so matplotlib's
  code and finalizers never see a KeyboardInterrupt;
- a press while a module is being imported is kept until the import has
  ended (the outermost one begun since the handler took charge: the whole
  start-up, about a second; matplotlib's first import, which builds its
  font cache, can take longer), then raised within about 10 ms. A
  KeyboardInterrupt raised inside an import is not safe: C code that
  imports a module may report it as another error (NumPy's C core asks for
  ``datetime`` through ``PyCapsule_Import``, which turns any failure into
  ``ImportError: PyCapsule_Import could not import module "datetime"``),
  and a library that tries an optional import would go on without that
  module and without the press. A press a second or more after the kept
  one is raised at once, inside the import or not, so that an import that
  hangs can still be stopped;
- later presses, once one was raised, are only counted, so a second Ctrl-C
  cannot break off the clean-up that the first one started;
- a press as the command ends, even after its work is done, makes the exit
  status 130 too: the process ends itself, after the exit handlers, rather
  than through Python's teardown, where a press killed it by SIGINT.

Only the interpreter's own start-up, before any skscratch code runs (some
tens of milliseconds), is beyond reach: a Ctrl-C there gets Python's
default handling.
"""

import _thread
import contextlib
import signal
import sys
import threading
import time

INTERRUPTED = 130  # the shell's status for a command ended by Ctrl-C: 128 + SIGINT
BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader of our output went away
POLL_S = 0.01  # how often a press kept during an import looks whether the import has ended
INSIST_AFTER_S = 1.0  # a press this long after a kept one is raised at once, even inside an import
# The import system's modules, by their frozen names (until ``importlib`` is imported, which renames them)
# and by their own (also the names of their files' modules, where they are not frozen).
_IMPORT_SYSTEM = frozenset({"_frozen_importlib", "_frozen_importlib_external", "importlib._bootstrap",
                            "importlib._bootstrap_external"})


def _import_frames(frame):
    """How many frames of Python's import system are on the stack of ``frame``: 0 outside any import.

    Every import of a module not loaded yet, by an ``import`` statement,
    :func:`importlib.import_module` or C code, runs through
    ``importlib._bootstrap``, whose frames stay on the stack until the
    module has been executed; an import inside it adds its own.
    """
    count = 0
    while frame is not None:
        count += frame.f_globals.get("__name__") in _IMPORT_SYSTEM
        frame = frame.f_back
    return count


class CtrlC:
    """A SIGINT handler: the first press raises KeyboardInterrupt, unless held or kept during an import.

    Attributes
    ----------
    presses : int
        How many times Ctrl-C was pressed so far.

    Examples
    --------
    >>> ctrl_c = CtrlC()
    >>> try:
    ...     with ctrl_c.held():
    ...         ctrl_c(signal.SIGINT, None)  # Ctrl-C while a file is being written...
    ...         print("the file is whole")
    ... except KeyboardInterrupt:
    ...     print("...and only then interrupted")
    the file is whole
    ...and only then interrupted
    >>> ctrl_c(signal.SIGINT, None)  # a second press is only counted
    >>> ctrl_c.presses
    2
    """

    def __init__(self):
        self.presses = 0
        self._held = 0
        self._delivered = False
        self._kept_since = None  # time.monotonic() of a press kept during an import, until it asks again
        self._asking_again = False  # the next call is a kept press asking again, not a new press
        self._lock = threading.Lock()  # between asking again and putting back the handler before this one
        # A program that runs as a module is imported (``import my_training``) runs all along inside that
        # import: only the imports begun since this CtrlC took charge keep a press for later.
        self._imports_outside = _import_frames(sys._getframe(1))

    def __repr__(self):
        return f"CtrlC(presses={self.presses}, held={self._held > 0})"

    @property
    def delivered(self):
        """Whether a press was raised as KeyboardInterrupt: an error that followed may be its doing."""
        return self._delivered

    def __call__(self, signum, frame):
        if self._asking_again:
            self._asking_again = False
        else:
            self.presses += 1
        if self._held:
            return
        if self.presses and not self._delivered and _import_frames(frame) > self._imports_outside:
            if self._kept_since is None:
                self._kept_since = time.monotonic()
                threading.Thread(target=self._ask_again_after_import, name="skscratch-ctrl-c", daemon=True).start()
                return
            if time.monotonic() - self._kept_since < INSIST_AFTER_S:
                return
        self._deliver()

    def _ask_again_after_import(self):
        """Once the main thread has left the import, send it SIGINT again: the kept press, as a press would.

        A signal to the main thread, as a press is, and not a call of the
        handler (:func:`_thread.interrupt_main`): it also ends a wait of the
        main thread's (``time.sleep``, a read). Only one, and only once the
        import has ended: a signal makes the system calls under way fail with
        EINTR, which C code inside an import may not retry. On Windows, which
        has no signal to a thread, a call of the handler.
        """
        main = threading.main_thread().ident
        while True:
            time.sleep(POLL_S)
            with self._lock:
                if self._delivered or self._held or signal.getsignal(signal.SIGINT) is not self:
                    self._kept_since = None  # raised meanwhile (or held, or no longer ours): nothing to ask
                    return
                if _import_frames(sys._current_frames().get(main)) > self._imports_outside:
                    continue
                self._kept_since, self._asking_again = None, True
                if hasattr(signal, "pthread_kill"):
                    signal.pthread_kill(main, signal.SIGINT)
                else:
                    _thread.interrupt_main(signal.SIGINT)
                return

    def _deliver(self):
        if self.presses and not self._delivered:
            self._delivered = True  # once: later presses must not break off the clean-up
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def held(self):
        """Hold Ctrl-C inside the block; a press in it is delivered when the block ends."""
        self._held += 1
        try:
            yield self
        finally:
            self._held -= 1
        if not self._held:  # not reached when the block raised: that exception goes first
            self._deliver()

    def checkpoint(self):
        """Raise the KeyboardInterrupt of a press held so far, now, even inside :meth:`held`.

        For a long task that Ctrl-C must stop, but only where it can stop
        cleanly: the task runs held, and calls this where it can stop
        (between two frames of an animation, say). Once, as always: after
        the first press was delivered, this does nothing.
        """
        self._deliver()

    def hold_forever(self):
        """Hold Ctrl-C from now on: the command has finished and the process is ending."""
        self._held += 1


def current_ctrl_c():
    """The CtrlC handling SIGINT now, or an idle one that is never pressed.

    Returns
    -------
    CtrlC
    """
    handler = signal.getsignal(signal.SIGINT)
    return handler if isinstance(handler, CtrlC) else CtrlC()


@contextlib.contextmanager
def handling_ctrl_c():
    """A CtrlC in charge of SIGINT inside the block: the one installed, or one installed for it.

    Only the main thread receives signals; elsewhere the CtrlC given is idle.
    """
    previous = signal.getsignal(signal.SIGINT)
    if isinstance(previous, CtrlC) or threading.current_thread() is not threading.main_thread():
        yield current_ctrl_c()
        return
    ctrl_c = CtrlC()
    signal.signal(signal.SIGINT, ctrl_c)
    try:
        yield ctrl_c
    finally:
        with ctrl_c._lock:  # a kept press asks again now or never: never of the handler put back
            ctrl_c.hold_forever()  # (putting it back runs a pending call of ours first: counted, not raised)
            signal.signal(signal.SIGINT, previous)
