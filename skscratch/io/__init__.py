"""Saving and loading models: the safe ``.npz`` format and its parts, and ONNX export.

``skscratch.save``, ``skscratch.load``, ``skscratch.to_numpy`` and
``skscratch.to_onnx`` are the public names; the modules here are how:

- ``persistence``: save, load, to_numpy;
- ``npz_container``, ``strict_json``, ``integrity``: the file's container, its JSON, its checks;
- ``metadata``, ``pipeline_format``: what a file describes (the estimator, a Pipeline's steps);
- ``file_access``: writing a file whole or not at all;
- ``onnx``: the skl2onnx converters.
"""
