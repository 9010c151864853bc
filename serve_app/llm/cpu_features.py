"""Whether this CPU runs bfloat16 matrix maths natively (the CPU engine's ``dtype: auto``).

bfloat16 needs AVX-512 BF16 (``avx512_bf16``). Where the CPU also lists AMX
(``amx_bf16``, ``amx_tile``), vLLM's CPU kernels and oneDNN use AMX tiles, and a listed
flag is not enough: the hypervisor must enable the tile state (XCR0), and Linux hands it
to a process only after ``arch_prctl(ARCH_REQ_XCOMP_PERM, XTILEDATA)``. A kernel that
executes a tile instruction without it dies with SIGILL, which is how bfloat16 can crash
on one VM and run on another with the same CPU model. So with AMX listed, bfloat16 is
chosen only when the kernel grants the tile state; a CPU with AVX-512 BF16 and no AMX
(AMD Zen 4 and later) runs it on AVX-512; otherwise float32.
"""

from __future__ import annotations

import ctypes
import platform
from pathlib import Path

_SYS_ARCH_PRCTL = 158  # x86-64
_ARCH_REQ_XCOMP_PERM = 0x1023
_XFEATURE_XTILEDATA = 18
AMX_FLAGS = frozenset({"amx_bf16", "amx_tile"})


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags"):
                return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def amx_granted() -> bool:
    """Asks Linux for the AMX tile state (as oneDNN does); True if it is granted."""
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.syscall(_SYS_ARCH_PRCTL, _ARCH_REQ_XCOMP_PERM, _XFEATURE_XTILEDATA)) == 0
    except (OSError, AttributeError):
        return False


def native_bfloat16() -> bool:
    """The CPU lists AVX-512 BF16, and either no AMX or AMX with the state granted."""
    flags = cpu_flags()
    return "avx512_bf16" in flags and (not flags & AMX_FLAGS or amx_granted())
