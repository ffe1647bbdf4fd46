"""The version of skscratch, stamped into saved models."""

__version__ = "0.1.0"
