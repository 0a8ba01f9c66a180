"""Random draws that reproduce R's ``set.seed()`` + ``sample()`` exactly.

R's default generator is the Mersenne Twister (the same MT19937 that numpy ships),
seeded by R's own scrambling of the integer seed, and ``sample()`` (R >= 3.6,
``sample.kind = "Rejection"``) draws indices by rejection sampling on the top bits
of each 32-bit output. Reproducing both lets ``validate(..., seed=s)`` resample the
same rows as ``set.seed(s); rms::validate(f, ...)`` — so bootstrap results can be
compared with R's to rounding error instead of Monte Carlo error.

Sources: R ``src/main/RNG.c`` (``RNG_Init``, ``MT_genrand``, ``rbits``,
``R_unif_index``) and ``src/main/random.c`` (``do_sample``).
"""

from __future__ import annotations

import math
import sys
from typing import Literal, Protocol

import numpy as np

_MASK32 = 0xFFFFFFFF
RngKind = Literal["R", "numpy"]


class IndexSampler(Protocol):
    """Draws row indices (0-based) for resampling."""

    seed: int

    def sample_with_replacement(self, n: int, size: int) -> np.ndarray: ...

    def permutation(self, n: int) -> np.ndarray: ...


class RCompatibleRNG:
    """R's Mersenne Twister stream after ``set.seed(seed)``, with R's ``sample()``.

    Raw 32-bit outputs drawn ahead in vectorised batches but not used are kept, so
    the stream consumed is exactly R's and later draws continue it.
    """

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        s = self.seed & _MASK32
        for _ in range(50):  # R's initial scrambling
            s = (69069 * s + 1) & _MASK32
        words = []
        for _ in range(625):  # dummy[0] (position) + 624 state words
            s = (69069 * s + 1) & _MASK32
            words.append(s)
        self._bitgen = np.random.MT19937(0)
        self._bitgen.state = {
            "bit_generator": "MT19937",
            "state": {"key": np.array(words[1:], dtype=np.uint32), "pos": 624},
        }
        self._buffer = np.empty(0, dtype=np.uint64)

    def _raw(self, count: int) -> np.ndarray:
        """The next 32-bit outputs (consumed): up to ``count`` held back from earlier, else ``count`` new."""
        have = self._buffer.size
        if have == 0:
            return np.asarray(self._bitgen.random_raw(count), dtype=np.uint64)
        out, self._buffer = self._buffer[:count], self._buffer[count:]
        return out

    def _unread(self, values: np.ndarray) -> None:
        """Give back outputs drawn ahead but not used (they come first next time)."""
        self._buffer = values.copy() if self._buffer.size == 0 else np.concatenate([values, self._buffer])

    @staticmethod
    def _bits(n: int) -> int:
        return int(math.ceil(math.log2(n))) if n > 0 else 0

    @staticmethod
    def _candidates(raw: np.ndarray, bits: int) -> np.ndarray:
        """R's ``rbits(bits)`` applied to consecutive groups of raw outputs."""
        per = bits // 16 + 1
        mask = np.uint64((1 << bits) - 1)
        if per == 1:  # floor(unif_rand() * 65536) is the top 16 bits of the 32-bit output
            if sys.byteorder == "little":  # bits 16-31 of each uint64 are its second uint16 word
                out16 = raw.view(np.uint16)[1::4].copy()
            else:
                out16 = np.right_shift(raw, np.uint64(16)).astype(np.uint16)
            np.bitwise_and(out16, np.uint16((1 << bits) - 1), out=out16)
            return out16
        groups = raw.reshape(-1, per) >> np.uint64(16)
        value = np.zeros(groups.shape[0], dtype=np.uint64)
        for k in range(per):
            value = value * np.uint64(65536) + groups[:, k]
        return value & mask

    def unif_index(self, n: int, size: int) -> np.ndarray:
        """``size`` draws of R's ``R_unif_index(n)`` (values in 0..n-1), in order."""
        if size == 0:
            return np.empty(0, dtype=np.int64)
        bits = self._bits(n)
        per = bits // 16 + 1
        acceptance = n / float(1 << bits) if bits else 1.0
        accepted: list[np.ndarray] = []
        need = size
        while need > 0:
            groups = int(need / acceptance * 1.02) + 64
            raw = self._raw(groups * per)  # may be fewer (left over from the last call): loop again
            if raw.size % per:  # complete the last group of 16-bit pieces
                tail = np.asarray(self._bitgen.random_raw(per - raw.size % per), dtype=np.uint64)
                raw = np.concatenate([raw, tail])
            cand = self._candidates(raw, bits)
            ok = cand < (np.uint16(n) if cand.dtype == np.uint16 else np.uint64(n))
            good = np.compress(ok, cand)
            if good.size >= need:
                # the need-th accepted candidate is among the last ones: find it from the end
                surplus = good.size - need
                tail = 64 + int(3 * (surplus + 1) / acceptance)
                while True:
                    tail = min(tail, ok.size)
                    window = np.flatnonzero(ok[ok.size - tail:])
                    if window.size > surplus or tail == ok.size:
                        break
                    tail *= 2
                last = ok.size - tail + int(window[window.size - surplus - 1])
                accepted.append(good[:need])
                self._unread(raw[(last + 1) * per:])
                need = 0
            else:
                accepted.append(good)
                need -= good.size
        out = accepted[0] if len(accepted) == 1 else np.concatenate(accepted)
        return out.astype(np.int64)

    def sample_with_replacement(self, n: int, size: int) -> np.ndarray:
        """``sample(n, size, replace = TRUE) - 1``."""
        return self.unif_index(n, size)

    def permutation(self, n: int) -> np.ndarray:
        """``sample(n) - 1`` (R's partial Fisher–Yates with swap-from-end)."""
        pool = np.arange(n, dtype=np.int64)
        out = np.empty(n, dtype=np.int64)
        remaining = n
        for i in range(n):
            j = int(self.unif_index(remaining, 1)[0])
            out[i] = pool[j]
            remaining -= 1
            pool[j] = pool[remaining]
        return out


class NumpyRNG:
    """numpy's PCG64 ``default_rng(seed)``: independent of R, not R-reproducible."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._gen = np.random.default_rng(seed)

    def sample_with_replacement(self, n: int, size: int) -> np.ndarray:
        return self._gen.integers(0, n, size=size)

    def permutation(self, n: int) -> np.ndarray:
        return self._gen.permutation(n)


def make_rng(seed: int, kind: RngKind = "R") -> IndexSampler:
    """The index sampler named by ``kind`` ("R": the draws R makes after ``set.seed(seed)``)."""
    if kind == "R":
        return RCompatibleRNG(seed)
    if kind == "numpy":
        return NumpyRNG(seed)
    raise ValueError(f"rng must be 'R' or 'numpy' (got {kind!r})")
