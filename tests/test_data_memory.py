import resource

import pytest

from rdia.data import DataError
from rdia.data.memory import address_space_used, available_memory, check_memory, format_bytes


@pytest.mark.parametrize("n_bytes, text", [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"),
                                           (5 * 2**20 + 2**19, "5.5 MiB"),
                                           (3 * 2**30, "3.0 GiB"), (2**42, "4096.0 GiB")])
def test_format_bytes(n_bytes, text):
    assert format_bytes(n_bytes) == text


def test_available_memory_is_read_from_the_system():
    with open("/proc/meminfo") as f:
        total_kib = int(next(line for line in f if line.startswith("MemTotal:")).split()[1])
    available, source = available_memory()
    assert 0 < available <= total_kib * 1024
    if resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY:
        assert source == "MemAvailable"
    assert address_space_used() > 0


def test_a_need_above_the_available_memory_is_refused_in_one_line():
    available, _ = available_memory()
    check_memory(1024, "a small load")
    with pytest.raises(DataError) as info:
        check_memory(2 * available, "big.svm: loading 10 values")
    message = str(info.value)
    assert message.startswith(f"big.svm: loading 10 values needs about "
                              f"{format_bytes(2 * available)} of memory but ")
    assert "is available (" in message and "\n" not in message
