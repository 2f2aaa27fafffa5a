"""tickagg/resident.py gives back the resident pages of clean file mappings only: their contents read the same
afterwards, and a mapping with a page of its own (written copy-on-write) is left alone."""
from __future__ import annotations

import mmap

from tickagg.resident import clean_mappings, drop_clean


def _rss_kb(name_part: str) -> int:
    total, inside = 0, False
    with open("/proc/self/smaps") as f:
        for line in f:
            parts = line.split()
            if "-" in parts[0] and not parts[0].endswith(":"):
                inside = len(parts) > 5 and name_part in parts[5]
            elif inside and parts[0] == "Rss:":
                total += int(parts[1])
    return total


def test_clean_pages_go_back_and_read_the_same_and_written_ones_stay(tmp_path):
    pages = 64
    clean_file, written_file = tmp_path / "w3clean.bin", tmp_path / "w3written.bin"
    content = bytes(range(256)) * (pages * mmap.PAGESIZE // 256)
    clean_file.write_bytes(content)
    written_file.write_bytes(content)
    with open(clean_file, "rb") as c, open(written_file, "rb") as w:
        clean = mmap.mmap(c.fileno(), 0, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ)
        written = mmap.mmap(w.fileno(), 0, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    try:
        assert clean[:] == content and written[:] == content  # every page resident
        written[5] = 255  # one page of its own: dropping it would lose the write
        assert _rss_kb("w3clean.bin") >= pages * mmap.PAGESIZE // 1024
        assert [m for m in clean_mappings("w3written.bin")] == []
        assert len(clean_mappings("w3clean.bin")) == 1
        assert drop_clean("w3clean.bin") >= pages * mmap.PAGESIZE // 1024
        assert drop_clean("w3written.bin") == 0
        assert _rss_kb("w3clean.bin") == 0
        assert clean[:] == content  # faulted back from the file
        assert written[5] == 255 and written[6:] == content[6:]
    finally:
        clean.close()
        written.close()


def _resident_bytes(array) -> int:
    import ctypes

    libc = ctypes.CDLL("libc.so.6")
    start = array.ctypes.data // mmap.PAGESIZE * mmap.PAGESIZE
    pages = (array.ctypes.data + array.nbytes - start + mmap.PAGESIZE - 1) // mmap.PAGESIZE
    vector = (ctypes.c_ubyte * pages)()
    assert libc.mincore(ctypes.c_void_p(start), ctypes.c_size_t(pages * mmap.PAGESIZE), vector) == 0
    return sum(v & 1 for v in vector) * mmap.PAGESIZE


def test_small_pages_keep_a_sparse_write_to_its_own_pages():
    """NumPy asks for huge pages for big arrays: one write would make 2 MiB resident. After small_pages, 32 writes
    256 KiB apart make 32 pages resident, not 8 MiB, and the values are as written."""
    import numpy as np

    from tickagg.resident import small_pages

    # 8 MiB of fresh, untouched anonymous memory advised for huge pages as NumPy does (np.zeros itself may reuse
    # heap pages an earlier test made resident: calloc then zeroes them, so the count would be the process's history)
    region = mmap.mmap(-1, 8 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)  # private: shared memory is shmem
    region.madvise(mmap.MADV_HUGEPAGE)
    array = np.frombuffer(region, np.float64)
    assert small_pages((array, (np.zeros(4),))) >= array.nbytes - 2 * mmap.PAGESIZE
    array[:: 1 << 15] = 7.0
    assert _resident_bytes(array) <= 40 * mmap.PAGESIZE
    assert array.sum() == 7.0 * 32
    del array
    region.close()


def test_compacted_linking_modules_still_link_a_kernel_compiled_later():
    """A kernel compiled after compact_linking_modules links the compacted library from its kept bitcode."""
    import numba

    from tickagg.resident import compact_linking_modules

    @numba.njit
    def inner(x):
        return x * 3 + 1

    assert inner(2) == 7
    library = inner.overloads[inner.signatures[0]].library
    library._get_module_for_linking()  # as after loading from the cache: the linking module exists
    assert compact_linking_modules() >= 1
    assert library._shared_module is None

    @numba.njit
    def outer(x):
        return inner(x) + inner(x + 1)

    assert outer(2) == 7 + 10
    assert library._shared_module is not None
