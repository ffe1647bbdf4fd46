"""What :mod:`skscratch.plotting` draws, module by module.

- ``displays``: the learning curves, a grid of predictions, the first
  layer's weights (and the helpers the others share);
- ``recorder``: snapshots of a network after every epoch;
- ``animation``: those snapshots drawn as a movie, a frame per epoch;
- ``movie``: the frames written to a GIF or an MP4, whole or not at all.
"""
