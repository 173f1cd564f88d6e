"""How much memory a load needs and how much the process may still take.

A load that cannot fit is refused before it allocates, with one line that says how
much it needs and how much is available, instead of being killed by the kernel or
dying in a MemoryError half way. Available memory is the smaller of the system's
``MemAvailable`` (``/proc/meminfo``) and, when the process runs under an address
space limit (``ulimit -v``, ``RLIMIT_AS``), that limit minus the address space it
already uses (``VmSize`` in ``/proc/self/status``). Where neither can be read (not
Linux), nothing is refused.
"""

import resource

from .errors import DataError

MEMINFO = "/proc/meminfo"
PROCESS_STATUS = "/proc/self/status"


def available_memory():
    """Bytes the process can still allocate, and where that number comes from.

    Returns
    -------
    available : int or None
        The smaller of MemAvailable and the room left under RLIMIT_AS; None when
        neither is known.
    source : str or None
        Says which of the two it is, e.g. "MemAvailable" or "RLIMIT_AS 2.0 GiB,
        of which 1.9 GiB in use".
    """
    candidates = []
    mem_available = _proc_field(MEMINFO, "MemAvailable")
    if mem_available is not None:
        candidates.append((mem_available, "MemAvailable"))
    limit, _ = resource.getrlimit(resource.RLIMIT_AS)
    in_use = address_space_used()
    if limit != resource.RLIM_INFINITY and in_use is not None:
        candidates.append((max(limit - in_use, 0),
                           f"RLIMIT_AS {format_bytes(limit)}, of which "
                           f"{format_bytes(in_use)} in use"))
    if not candidates:
        return None, None
    return min(candidates)


def address_space_used():
    """The process's virtual memory size (VmSize) in bytes, or None when unknown."""
    return _proc_field(PROCESS_STATUS, "VmSize")


def check_memory(needed, what):
    """Refuse a load that needs more memory than is available.

    Parameters
    ----------
    needed : int
        Estimated peak bytes of the load.
    what : str
        What is loaded and how the estimate came about, e.g. "path: reading its
        at most 4,000,000 values"; the message starts with it.

    Raises
    ------
    DataError
        When ``needed`` exceeds ``available_memory()``.
    """
    available, source = available_memory()
    if available is not None and needed > available:
        raise DataError(f"{what} needs about {format_bytes(needed)} of memory but "
                        f"{format_bytes(available)} is available ({source}); free "
                        f"memory, raise the limit or use a machine with more memory")


def format_bytes(n_bytes):
    """A byte count for people: "512 B", "3.4 MiB", "1.2 GiB"."""
    value = float(n_bytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            break
        value /= 1024
    if unit == "B":
        return f"{int(value)} B"
    return f"{value:.1f} {unit}"


def _proc_field(path, field):
    """A "Field: N kB" line of a /proc file, in bytes, or None when unreadable."""
    try:
        with open(path) as f:
            for line in f:
                name, _, rest = line.partition(":")
                if name == field:
                    number, _, unit = rest.strip().partition(" ")
                    return int(number) * (1024 if unit == "kB" else 1)
    except (OSError, ValueError):
        return None
    return None
