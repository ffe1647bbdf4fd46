"""What makes skscratch fast, kept out of the maths' way.

- ``array_api``: the seam to PyTorch, CuPy ... arrays (scikit-learn's Array API dispatch);
- ``parallel``: the training threads and BLAS's thread limits;
- ``kernels``: the numba kernels of the ``[fast]`` extra (the NumPy code they replace is the specification);
- ``dispatch`` and ``passes``: which code runs an optimizer's step, and a network's forward and backward
  passes (the fused kernels, or the NumPy code of ``nn``);
- ``ctrl_c``: what Ctrl-C does in the ``skscratch`` command (standard library only).

Nothing here imports the rest of skscratch: ``nn`` and the estimators build on it.
"""
