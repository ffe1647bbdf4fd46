"""What Ctrl-C does in the ``skscratch`` command (its entry point is ``skscratch.cli.console``).

This module imports only the standard library, and ``import skscratch``
loads nothing heavy, so the console script and ``python -m skscratch``
take charge of Ctrl-C before NumPy, scikit-learn and pandas start loading
(a second or more). From then on, Ctrl-C at any moment ends the command
with exit status 130 and no traceback:

- the first Ctrl-C raises KeyboardInterrupt where the program is: start-up
  and loading stop there, training stops after the current minibatch;
- while a file is being written (:meth:`CtrlC.held`), it waits until the
  file is whole, so an output is written completely or not at all;
- a long task that must stop early, but only where it can stop cleanly,
  runs held and stops at its own checkpoints (:meth:`CtrlC.checkpoint`):
  ``train --animate`` stops drawing between two frames, so matplotlib's
  code and finalizers never see a KeyboardInterrupt;
- a press while a module is being imported is delivered as soon as the
  import has ended (a few milliseconds to a second): a KeyboardInterrupt
  raised inside an import is not safe, because C code that imports a module
  may report it as another error (NumPy's C core asks for ``datetime``
  through ``PyCapsule_Import``, which turns any failure into ``ImportError:
  PyCapsule_Import could not import module "datetime"``), and a library that
  tries an optional import would go on without that module and without the
  press;
- later presses are only counted, so a second Ctrl-C cannot break off the
  clean-up that the first one started;
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

INTERRUPTED = 130  # the shell's status for a command ended by Ctrl-C: 128 + SIGINT
BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader of our output went away
RETRY_AFTER_IMPORT_S = 0.01  # how often a press that came during an import asks again to be delivered
_IMPORT_SYSTEM = frozenset({"importlib._bootstrap", "importlib._bootstrap_external"})  # frozen or not


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
    """A SIGINT handler: the first press raises KeyboardInterrupt, unless held or during an import.

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
        self._asking_again = False  # the next call is a press asking again, not a new press
        self._will_ask_again = False  # a press kept during an import will ask again soon
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
            if not self._will_ask_again:  # (one timer at a time, even if pressed again meanwhile)
                self._will_ask_again = True
                timer = threading.Timer(RETRY_AFTER_IMPORT_S, self._ask_again)  # and again, until the import ends
                timer.daemon = True
                timer.start()
            return
        self._deliver()

    def _ask_again(self):
        """Send SIGINT to the main thread again, as a press would, if this CtrlC still handles it.

        A signal, not only a call of the handler (:func:`_thread.interrupt_main`):
        it also ends a wait of the main thread's (``time.sleep``, a read), as a
        press does, where a call would wait for the wait to end.
        """
        self._will_ask_again = False
        if signal.getsignal(signal.SIGINT) is not self:
            return
        self._asking_again = True
        if hasattr(signal, "pthread_kill"):
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        else:  # (Windows)
            _thread.interrupt_main(signal.SIGINT)

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
        signal.signal(signal.SIGINT, previous)
