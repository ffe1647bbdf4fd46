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
- later presses are only counted, so a second Ctrl-C cannot break off the
  clean-up that the first one started;
- a press as the command ends, even after its work is done, makes the exit
  status 130 too: the process ends itself, after the exit handlers, rather
  than through Python's teardown, where a press killed it by SIGINT.

Only the interpreter's own start-up, before any skscratch code runs (some
tens of milliseconds), is beyond reach: a Ctrl-C there gets Python's
default handling.
"""

import contextlib
import signal
import threading

INTERRUPTED = 130  # the shell's status for a command ended by Ctrl-C: 128 + SIGINT
BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader of our output went away


class CtrlC:
    """A SIGINT handler: the first press raises KeyboardInterrupt, unless held.

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

    def __repr__(self):
        return f"CtrlC(presses={self.presses}, held={self._held > 0})"

    def __call__(self, signum, frame):
        self.presses += 1
        if not self._held:
            self._deliver()

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
