#!/usr/bin/env python3
"""One Lightning call against calls back to back, on the GPU, through ctypes.

usage: python3 benchmarks/gpu/lightning_call_time.py path/to/libattn4j.so [time|ncu]

time: for B=1, H=32, d=128, bf16 at N = 4K and 16K, the median of 20 single calls (CUDA events around
      one call whose ctypes arguments were built beforehand, as lightning_compare.py times them) and of 5
      runs of 20 calls back to back (divided by 20). Their difference is the host time before the
      first kernel starts, which a single call includes.
ncu:  two calls at 4K and nothing else, for a profiler, e.g.
      ncu -k regex:lightning_sm90 -c 1 -s 1 --section SourceCounters python3 ... ncu
"""
import sys

import torch

from lightning_compare import Attn4j
from sdpa_compare import timed


def main():
    lib = Attn4j(sys.argv[1])
    mode = sys.argv[2] if len(sys.argv) > 2 else "time"
    b, h, d = 1, 32, 128
    slopes = lib.slopes(h)
    for n in ([4096] if mode == "ncu" else [4096, 16384]):
        q = torch.randn(b, h, n, d, device="cuda", dtype=torch.bfloat16) * d ** -0.25
        k, v, out = torch.randn_like(q), torch.randn_like(q), torch.empty_like(q)
        call = lib.lightning_call(q, k, v, slopes, out)
        if mode == "ncu":
            call()
            call()
            torch.cuda.synchronize()
            return 0
        t1 = timed(call, 20)

        def many():
            for _ in range(20):
                call()
        t20 = timed(many, 5) / 20
        print(f"N={n}: one call {t1 * 1e6:.1f} us ({n / t1 / 1e6:.1f} M tokens/s), "
              f"back to back {t20 * 1e6:.1f} us ({n / t20 / 1e6:.1f} M)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
