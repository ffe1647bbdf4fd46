"""Where the array-library contenders' arrays live: putting data there, waiting for it, its memory.

skscratch trains on PyTorch tensors and CuPy arrays, on their device, under
scikit-learn's ``array_api_dispatch=True``; PyTorch's own network trains on
CUDA too. A :class:`Device` is one array library on one kind of device, and
does for a contender what differs from one to the other: whether it can run
here at all, turning the NumPy data into its arrays (once, before anything
is timed), waiting for the work queued on a GPU, and bringing results back.

Work on a GPU is asynchronous: a call returns once its kernels are queued.
Every timed section of a GPU contender therefore ends with
:meth:`Device.synchronize`, so that it counts the work it asked for, not
only the asking; the section before it ended the same way, so nothing
queued earlier is counted either.

Nothing here imports an array library until a method needs it.
"""

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Device:
    """The array library ``library`` ("torch" or "cupy") on a ``kind`` of device ("cpu" or "cuda")."""

    library: str
    kind: str

    @property
    def module(self):
        return importlib.import_module(self.library)

    @property
    def is_gpu(self):
        return self.kind == "cuda"

    def unavailable(self):
        """Why this device cannot be used here, as a sentence; None if it can."""
        try:
            module = self.module
        except ImportError as error:
            return f"{self.library} cannot be imported: {error}"
        if not self.is_gpu:
            return None
        if self.library == "torch":
            if not module.cuda.is_available():
                return "no CUDA device: torch.cuda.is_available() is False"
            return None
        try:
            count = module.cuda.runtime.getDeviceCount()
        except Exception as error:  # CuPy raises its own CUDARuntimeError without a driver or a GPU
            return f"no CUDA device for CuPy: {type(error).__name__}: {error}"
        return None if count else "no CUDA device for CuPy: cupy.cuda.runtime.getDeviceCount() is 0"

    def put(self, array):
        """A NumPy array as this library's array on this device (PyTorch's CPU shares its memory)."""
        if self.library == "torch":
            return self.module.asarray(array, device=self.kind)
        return self.module.asarray(array)

    def synchronize(self):
        """Wait until the device has done all the work queued on it; nothing to wait for on the CPU."""
        if not self.is_gpu:
            return
        if self.library == "torch":
            self.module.cuda.synchronize()
        else:
            self.module.cuda.Device().synchronize()

    def to_numpy(self, array):
        """``array`` back on the host, as a NumPy array."""
        if self.library == "torch":
            return array.detach().cpu().numpy()
        return self.module.asnumpy(array)

    def describe(self):
        """The library's version and the device, in words: ``"torch 2.13.0, cpu"``,
        ``"cupy 13.3.0, NVIDIA H200 (cuda:0)"``."""
        module = self.module
        if not self.is_gpu:
            where = "cpu"
        elif self.library == "torch":
            where = f"{module.cuda.get_device_name()} (cuda:{module.cuda.current_device()})"
        else:
            device = module.cuda.Device()
            name = module.cuda.runtime.getDeviceProperties(device.id)["name"]
            where = f"{name.decode() if isinstance(name, bytes) else name} (cuda:{device.id})"
        return f"{self.library} {module.__version__}, {where}"

    def peak_memory_mib(self):
        """The most GPU memory the library has held for this process's arrays so far, in MiB;
        None on the CPU (the peak RSS says it there).

        PyTorch: ``torch.cuda.max_memory_allocated()``. CuPy: the bytes its
        default memory pool holds, which keeps the blocks it was given, so
        that it holds its peak until asked to free them.
        """
        if not self.is_gpu:
            return None
        if self.library == "torch":
            return self.module.cuda.max_memory_allocated() / 2**20
        return self.module.get_default_memory_pool().total_bytes() / 2**20
