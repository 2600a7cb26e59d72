"""What the PyTorch reference of a benchmark runs on, measured in the process that would run it (bench/reference-check.ts).

    /usr/bin/python3 bench/torch_probe.py <threads>

Prints one JSON line: PyTorch's and NumPy's versions, the BLAS that torch.__config__.show() says it was built
against, the BLAS libraries actually mapped into this process (/proc/self/maps, resolved through Debian's
alternatives symlinks), what threadpoolctl sees, OpenBLAS's own word on its core type and thread count when OpenBLAS
is the one loaded, and sgemm GFLOP/s at 512^3 on the asked threads. Debian's python3-torch links libblas.so.3, which
the alternatives system points at OpenBLAS (libopenblas0-pthread) or at the reference BLAS (~50x slower), so the
mapped file is the ground truth; threadpoolctl alone does not report a library named libblas on Linux.
"""
import ctypes
import json
import os
import re
import statistics
import sys
import time

threads = int(sys.argv[1])

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(threads)


def mapped_blas():
    """Files of this process's memory map whose resolved path names a BLAS."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "/" in line}
    named = sorted(p for p in paths if any(k in os.path.basename(p).lower() for k in ("blas", "mkl", "blis")))
    return [{"path": p, "resolved": os.path.realpath(p)} for p in named]


class _DlInfo(ctypes.Structure):
    _fields_ = [("fname", ctypes.c_char_p), ("fbase", ctypes.c_void_p), ("sname", ctypes.c_char_p), ("saddr", ctypes.c_void_p)]


def sgemm_provider():
    """The file whose sgemm_ PyTorch's own library binds to: dlsym through libtorch_cpu's handle (its dependency
    scope, LD_PRELOAD included), then dladdr on the address. None when it cannot be told."""
    with open("/proc/self/maps") as maps:
        torch_cpu = next((line.split()[-1] for line in maps if os.path.basename(line.split()[-1]).startswith("libtorch_cpu")), None)
    if torch_cpu is None:
        return None
    try:
        address = ctypes.cast(ctypes.CDLL(torch_cpu).sgemm_, ctypes.c_void_p)
    except (OSError, AttributeError):
        return None
    info = _DlInfo()
    libc = ctypes.CDLL(None)
    if not libc.dladdr(address, ctypes.byref(info)) or not info.fname:
        return None
    return os.path.realpath(info.fname.decode())


def openblas_report(files):
    """OpenBLAS's own core name, config string and thread count, from the first of `files` that is OpenBLAS."""
    for file in files:
        try:
            handle = ctypes.CDLL(file)
            corename = handle.openblas_get_corename
        except (OSError, AttributeError):
            continue
        corename.restype = ctypes.c_char_p
        config = handle.openblas_get_config
        config.restype = ctypes.c_char_p
        return {
            "library": file,
            "corename": corename().decode(),
            "config": config().decode().strip(),
            "threads": handle.openblas_get_num_threads(),
        }
    return None


def threadpools():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    keep = ("internal_api", "filepath", "version", "num_threads", "architecture", "threading_layer")
    return [{k: info.get(k) for k in keep} for info in threadpool_info()]


def blas_info():
    """The BLAS lines of torch.__config__.show() (what the build was configured against, not what is loaded)."""
    shown = torch.__config__.show()
    return dict(re.findall(r"\b(BLAS_INFO|LAPACK_INFO)=([^,\s]+)", shown))


def sgemm_gflops(n=512, warmup=3, reps=10):
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    for _ in range(warmup):
        torch.mm(a, b)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t)
    return 2 * n**3 / statistics.median(times) / 1e9


gflops = sgemm_gflops()  # first, so that the BLAS library is surely loaded before the map is read
libraries = mapped_blas()
sgemm_from = sgemm_provider()
print(
    json.dumps(
        {
            "torch": torch.__version__,
            "numpy": np.__version__,
            "python": sys.version.split()[0],
            "torchThreads": torch.get_num_threads(),
            "buildBlas": blas_info(),
            "sgemmFrom": sgemm_from,
            "libraries": libraries,
            "openblas": openblas_report(([sgemm_from] if sgemm_from else []) + [lib["resolved"] for lib in libraries]),
            "threadpools": threadpools(),
            "gflops": gflops,
            "env": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS") if k in os.environ},
        }
    )
)
