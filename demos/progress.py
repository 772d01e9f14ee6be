"""Progress bars only where someone watches them: on a terminal.

Piped into a log file, a tqdm bar writes a carriage-return update several times a second
(tens of kilobytes for a short demonstration); there the demonstrations' one line per epoch
is the progress report.
"""

from __future__ import annotations


def progress_bar(iterable=None, *, enabled: bool = True, **options):
    """A ``tqdm`` bar over ``iterable``, drawn only when ``enabled`` and stderr is a terminal.

    Off, it is a disabled ``tqdm`` that iterates and takes ``set_postfix`` and ``update``
    without printing, so callers need no second code path.
    """
    from tqdm import tqdm

    # disable=None: tqdm draws only when its stream (stderr) is a terminal.
    return tqdm(iterable, disable=None if enabled else True, **options)
