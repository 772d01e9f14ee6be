"""The version of the installed ``combopt`` distribution: one source for every package."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("combopt")
except PackageNotFoundError:  # a source tree on sys.path that was never installed
    __version__ = "0+unknown"
