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
