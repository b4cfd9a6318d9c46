"""lawset builders: source adapters, normalization, task generators and the pipeline runner."""

from importlib import metadata

try:
    __version__ = metadata.version("lawset")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
