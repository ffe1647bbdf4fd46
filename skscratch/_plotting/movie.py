"""Writing an animation's frames to a file: a GIF with Pillow, an MP4 with ffmpeg, whole or not at all."""

import errno
import numbers
import os
import zlib
from pathlib import Path

import numpy as np

from sklearn.utils._param_validation import Interval, InvalidParameterError, validate_parameter_constraints

from ..io.file_access import replaceable_mode
from .displays import _pyplot

# the range of fps each format can hold, and why
_FPS_RANGES = {".gif": (1 / 655.35, 100, "A GIF holds each frame's delay in hundredths of a second, from 0.01 s "
                                         "to 655.35 s."),
               ".mp4": (1e-6, 1e6, "ffmpeg reads the frame rate as a fraction of whole numbers up to 1,001,000.")}


def write_frames(writer, animation, outfile, dpi, ctrl_c):
    """Draw every frame of ``animation`` into ``outfile`` with ``writer``: a whole file, or none and the error.

    matplotlib's ``writer.saving`` finishes the file even when a frame
    failed, and that fails in its turn (Pillow's writer with no frame
    raises an IndexError), hiding the first error. Here a drawing that
    fails or is interrupted is abandoned, and its own exception raised.

    ``ctrl_c`` is the skscratch command's Ctrl-C, held meanwhile: a
    KeyboardInterrupt raised anywhere inside matplotlib would leave it
    broken, or be swallowed by one of its finalizers ("Exception
    ignored"), so a press is delivered between two frames
    (``ctrl_c.checkpoint()``). In a program of yours it is an idle one, and
    Ctrl-C is Python's as ever.
    """
    import matplotlib as mpl

    writer.setup(animation.figure_, str(outfile), dpi)
    try:
        with mpl.rc_context({"savefig.bbox": None}):  # as writer.saving: every frame the same size
            for frame in range(len(animation.epochs)):
                ctrl_c.checkpoint()
                animation._show(frame)
                writer.grab_frame()
            ctrl_c.checkpoint()
            writer.finish()
        ctrl_c.checkpoint()
    except BaseException:
        proc = getattr(writer, "_proc", None)  # ffmpeg's writer: its encoder, which must not outlive us
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.communicate()
        ctrl_c.checkpoint()  # a failure that a press caused (a terminal's Ctrl-C stops ffmpeg too) is that press
        raise


def check_destination(path):
    """Refuse a ``path`` whose folder is missing, that is a folder, or that open(path, "wb") could not open.

    The OSError names ``path``.
    """
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if path.parent.exists() and not path.parent.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{path.parent} is not a folder", str(path))
    if not path.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"the folder {path.parent} does not exist", str(path))
    replaceable_mode(os.path.realpath(path), str(path))  # a read-only file: open's PermissionError


def movie_writer(path, fps):
    """matplotlib's writer for ``path``: Pillow's for a .gif, ffmpeg's for an .mp4.

    Raises
    ------
    ValueError
        Another suffix; an ``fps`` outside the range the format holds (an
        InvalidParameterError).
    ImportError
        matplotlib is not installed.
    RuntimeError
        An .mp4, and ffmpeg is not installed.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ValueError(f"cannot write an animation to {path}: the name must end in .gif (written with Pillow) "
                         "or .mp4 (written with ffmpeg)")
    low, high, why = _FPS_RANGES[suffix]
    try:
        validate_parameter_constraints({"fps": [Interval(numbers.Real, low, high, closed="both")]}, {"fps": fps},
                                       caller_name="TrainingAnimation.save")
    except InvalidParameterError as exc:
        raise InvalidParameterError(f"{exc} {why}") from None
    _pyplot()
    from matplotlib import animation

    if suffix == ".gif":

        class PalettedPillowWriter(animation.PillowWriter):
            """Keeps each frame's pixels compressed, then writes all the frames in one palette of 256 colors."""

            def grab_frame(self, **savefig_kwargs):
                super().grab_frame(**savefig_kwargs)
                self._frames[-1] = PackedFrame(self._frames[-1])

            def finish(self):
                self._frames = one_palette(self._frames)
                super().finish()

        return PalettedPillowWriter(fps=fps)
    if not animation.FFMpegWriter.isAvailable():
        raise RuntimeError(f"writing {Path(path).name} needs ffmpeg, which is not installed (matplotlib looks for "
                           f"{animation.FFMpegWriter.bin_path()!r}); install ffmpeg, or write a .gif")
    return animation.FFMpegWriter(fps=fps)


class PackedFrame:
    """A frame's RGB pixels, compressed (zlib), while the movie waits for its palette.

    About a tenth of RGB's 3 bytes a pixel, and exact: a frame quantized on
    its own loses its rare colors, such as the ends of the color bar in the
    first epochs' frames, where few weights reach them.
    """

    def __init__(self, image):
        self.size, self.pixels = image.size, zlib.compress(image.convert("RGB").tobytes(), 1)

    def unpack(self):
        """The frame as a Pillow RGB image."""
        from PIL import Image

        return Image.frombytes("RGB", self.size, zlib.decompress(self.pixels))


def one_palette(frames, n_samples=8):
    """``frames`` (:class:`PackedFrame`) as Pillow images in one palette, made from up to ``n_samples`` of them.

    A palette per frame, as Pillow makes them, gives every pixel of every
    frame a new index; with one palette, a pixel that does not change keeps
    its byte, and the GIF stores only the part of a frame that changed.
    The 40 epochs of ``skscratch train --data fashion-mnist --animate``
    took 2.2 MB with a palette per frame, 0.7 MB with one (and its color
    bar); those of ``--data digits``, 0.8 MB and 0.3 MB. No dithering: it
    would scatter the pixels that do not change.
    """
    from PIL import Image

    if not frames:
        return []
    picks = np.unique(np.linspace(0, len(frames) - 1, min(n_samples, len(frames))).round().astype(int))
    width, height = frames[0].size
    sample = Image.new("RGB", (width, height * len(picks)))  # the picked frames, one under the other
    for k, i in enumerate(picks):
        sample.paste(frames[i].unpack(), (0, k * height))
    palette = sample.quantize()
    return [frame.unpack().quantize(palette=palette, dither=Image.Dither.NONE) for frame in frames]
