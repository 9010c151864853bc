"""A sliding window over decoded audio: the samples a job run still needs (the chunks not
yet sent to ASR, and the silence a chunk being planned may widen into), appended block by
block as decoding goes and dropped from the front once nothing can need them."""

from __future__ import annotations

import numpy as np


class SampleWindow:
    """Samples ``[start, end)`` of a stream, in absolute sample indices."""

    def __init__(self) -> None:
        self._blocks: list[np.ndarray] = []
        self._offsets: list[int] = []  # absolute index of each block's first sample
        self.start = 0
        self.end = 0

    @property
    def nbytes(self) -> int:
        return sum(block.nbytes for block in self._blocks)

    def append(self, block: np.ndarray) -> None:
        """The stream's next ``block`` (kept as given: the caller hands over its own copy)."""
        if block.size:
            self._blocks.append(block)
            self._offsets.append(self.end)
            self.end += block.size

    def slice(self, first: int, last: int) -> np.ndarray:
        """A copy of samples ``[first, last)``, clipped to what the stream held (a chunk
        planned past the end of a file that decoded shorter this time gets what there is)."""
        if first < self.start:
            raise ValueError(f"samples from {first} were dropped (the window is from {self.start})")
        last = min(last, self.end)
        parts = [
            block[max(first - at, 0) : max(last - at, 0)]
            for block, at in zip(self._blocks, self._offsets, strict=True)
            if at < last and at + block.size > first
        ]
        if not parts:
            return np.zeros(0, np.float32)
        return np.concatenate(parts) if len(parts) > 1 else parts[0].copy()

    def drop_before(self, sample: int) -> None:
        """Forget samples before ``sample`` (whole blocks; the block holding it stays)."""
        while self._blocks and self._offsets[0] + self._blocks[0].size <= sample:
            self._blocks.pop(0)
            self._offsets.pop(0)
        self.start = self._offsets[0] if self._offsets else self.end
