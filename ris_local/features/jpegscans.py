"""A progressive JPEG without the scans a 1/8 draft never reads.

At 1/8 scale libjpeg turns each 8 x 8 block of a component stored at full resolution
(the luma of a colour JPEG, the only channel of a grey one) into one pixel from its DC
coefficient alone (``jpeg_idct_1x1``); only the subsampled chroma, which it scales to
2 x 2 to spare an upsampling, reads some AC coefficients. A progressive file sends the
DC coefficients in scans of their own, so a 1/8 draft of it decodes the same pixels
from the file without the luma's AC scans, which are most of its bytes: the nine
large progressive photographs of ``benchmarks.large_photos`` that decode at 1/8 keep
8-27% of their bytes and decode 1.7-7x faster (median 3.8x).

One more thing must hold: the output pass must not smooth. After the last scan of a
whole file that sends AC coefficients 1-9 of every component to their last bit (every
common encoder's does; :func:`dc_only` checks it) libjpeg skips its block smoothing.
With AC scans missing it would estimate the first AC coefficients from neighbouring DC
values (and, with none of them known, move the DC values too). libjpeg never smooths
when a component's quantiser of coefficient 1 is zero (``smoothing_ok``, which avoids a
division by zero), so :func:`dc_only` zeroes it in the full-resolution components'
tables, which the 1 x 1 inverse DCT never reads (it reads the DC quantiser alone); the
subsampled components keep every scan and their tables as they were. If one of them
shares a table with a full-resolution component, the file is not rewritten.

Checked pixel for pixel against the whole file's 1/8 draft: every progressive JPEG on
this machine (48, from the benchmark's packages and others under ``/usr/share``) and
Pillow's progressive encodings of a photograph at 4:4:4, 4:2:2 and 4:2:0 and in grey,
at three qualities, with and without restart markers or optimised tables (180 files).

Anything unexpected (not progressive, no end marker, a truncated scan, a table a
subsampled component shares, an arithmetic-coded or hierarchical frame) gives ``None``,
and the caller decodes the file as it is.
"""

from __future__ import annotations

import re
import struct

__all__ = ["dc_only"]

#: The end of a scan's entropy-coded data: a marker that is neither a stuffed 0xFF
#: (``FF 00``), a restart marker (``FF D0``-``FF D7``, part of the scan), nor fill.
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_SOI, _EOI = 0xD8, 0xD9
_SOF2, _DQT, _SOS = 0xC2, 0xDB, 0xDA
#: libjpeg's block smoothing estimates AC coefficients 1-9 (zigzag) when any is not yet
#: known to its last bit (``SAVED_COEFS``).
_SMOOTHED = 9
#: Frame markers other than progressive Huffman (baseline and extended sequential
#: included: they have no separate DC scans) and arithmetic-coding tables.
_OTHER_FRAMES = frozenset({0xC0, 0xC1, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xCC})


def dc_only(data: bytes) -> bytes | None:
    """``data``, a progressive JPEG, without its full-resolution components' AC scans and
    with their quantiser of coefficient 1 zeroed: the same pixels at 1/8 scale (see the
    module docstring). ``None`` when that cannot be assured; only meaningful for a
    decode at 1/8 scale."""
    if data[:2] != b"\xff\xd8":
        return None
    segments: list[tuple[int, int, int]] = []  # (marker, start, end) of each kept segment
    full: set[int] = set()  # ids of the components stored at full resolution
    tables: dict[int, int] = {}  # component id -> its quantisation table
    seen_frame = False
    # (component, zigzag index) -> the last bit position a scan sent of that coefficient
    refined: dict[tuple[int, int], int] = {}
    pos, size = 2, len(data)
    while pos + 2 <= size:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == _EOI:
            break
        if marker == _SOI or 0xD0 <= marker <= 0xD7 or pos + 4 > size:
            return None
        (length,) = struct.unpack_from(">H", data, pos + 2)
        end = pos + 2 + length
        if length < 2 or end > size:
            return None
        if marker in _OTHER_FRAMES:
            return None
        if marker == _SOF2:
            if seen_frame or length < 8:
                return None
            seen_frame = True
            count = data[pos + 9]
            if length != 8 + 3 * count:
                return None
            sampling = {data[pos + 10 + 3 * k]: data[pos + 11 + 3 * k] for k in range(count)}
            tables = {data[pos + 10 + 3 * k]: data[pos + 12 + 3 * k] for k in range(count)}
            most_h = max(s >> 4 for s in sampling.values())
            most_v = max(s & 15 for s in sampling.values())
            full = {c for c, s in sampling.items() if s >> 4 == most_h and s & 15 == most_v}
        if marker == _SOS:
            if not seen_frame:
                return None
            found = _NEXT_MARKER.search(data, end)
            if found is None:
                return None
            components = data[pos + 4] if length >= 3 else 0
            if not components or length != 6 + 2 * components:
                return None
            start, stop, low_bit = data[end - 3], data[end - 2], data[end - 1] & 15
            for k in range(max(1, start), min(stop, _SMOOTHED) + 1):
                for c in range(components):
                    refined[data[pos + 5 + 2 * c], k] = low_bit
            ac_of_full = start > 0 and components == 1 and data[pos + 5] in full
            if not ac_of_full:
                segments.append((marker, pos, found.start()))
            pos = found.start()
            continue
        segments.append((marker, pos, end))
        pos = end
    else:
        return None  # no end marker: a truncated file is decoded as it is
    if not seen_frame or any(refined.get((c, k)) != 0 for c in tables for k in range(1, _SMOOTHED + 1)):
        return None  # the whole file's decode would smooth: its chroma may differ
    zeroed = {tables[c] for c in full}
    if zeroed & {t for c, t in tables.items() if c not in full}:
        return None  # a subsampled component reads that table's AC quantisers
    parts = [b"\xff\xd8"]
    for marker, start, end in segments:
        if marker == _DQT:
            table = _zero_first_ac(data[start:end], zeroed)
            if table is None:
                return None
            parts.append(table)
        else:
            parts.append(data[start:end])
    parts.append(b"\xff\xd9")
    return b"".join(parts)


def _zero_first_ac(segment: bytes, tables: set[int]) -> bytes | None:
    """A DQT segment with the quantiser of coefficient 1 (zigzag entry 1, which is
    natural-order position 1 too) set to zero in each of ``tables``."""
    out = bytearray(segment)
    offset = 4
    while offset < len(out):
        precision, table = out[offset] >> 4, out[offset] & 15
        width = 2 if precision else 1
        if precision > 1 or offset + 1 + 64 * width > len(out):
            return None
        if table in tables:
            entry = offset + 1 + width  # entry 1 of the 64
            out[entry : entry + width] = bytes(width)
        offset += 1 + 64 * width
    return bytes(out)
