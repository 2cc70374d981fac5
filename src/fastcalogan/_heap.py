"""Keep freed memory in the process's heap (glibc): no page faults for recycled tensors.

A training step frees and re-allocates the same few hundred kilobyte tensors thousands of
times a second. glibc's defaults give blocks of that size back to the kernel (``mmap``, or a
trimmed heap top) and fault every page in again on the next allocation: about 550 page
faults per FastCaloGAN critic step, 4 % of an iteration measured on one thread. Raising the
mmap and trim thresholds keeps them in the heap. Nothing changes in the arithmetic; the
process keeps its peak heap instead of shrinking after it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging

__all__ = ["retain_freed_memory"]

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: glibc's largest mmap threshold on 64-bit systems (DEFAULT_MMAP_THRESHOLD_MAX)
_MMAP_THRESHOLD = 32 * 1024 * 1024
_TRIM_THRESHOLD = 256 * 1024 * 1024


@functools.cache
def retain_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds once per process; ``False`` where there is no
    glibc (the call is then a no-op)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    ok = bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    )
    log.debug("glibc heap thresholds raised: %s", ok)
    return ok
