#!/usr/bin/env python3
"""Two or more builds of attn4j's CUDA SALE side by side, in one process, on the same inputs.

usage: python3 benchmarks/gpu/sale_ab.py NAME=path/to/libattn4j.so [NAME=path ...] [--n=N] [--taus=T,T]
                                         [--rounds=R] [--once]

Structured inputs (attn4j_structured_qkv, ATTN4J_PATTERN_MIXED, seed 7), B=1, H=32, d=128, bf16, causal.
Per threshold and build: SALE's time and its block-sparse pass's over the same mask (median of 5, CUDA
events), for R rounds that alternate between the builds (these machines are shared: compare builds
within a run, not across runs); the estimation is SALE less the sparse pass. Each build's mask and
output are compared with the first build's (a change meant to keep the masks must show "mask==first
True"), and its output with attn4j's dense FlashAttention (first build). --once makes one SALE call per
build and threshold and nothing else (for a profiler: ncu -k regex:estimate_rows_sm90 ...).
"""
import ctypes
import sys

import torch

from sale_compare import SaleParams
from sdpa_compare import Attn4j, describe, timed


def main():
    builds = [a.split("=", 1) for a in sys.argv[1:] if "=" in a and not a.startswith("--")]
    opts = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
    once = "--once" in sys.argv
    if not builds:
        print(__doc__)
        return 2
    n = int(opts.get("n", 65536))
    taus = [float(x) for x in opts.get("taus", "0.05,0.01").split(",")]
    rounds = int(opts.get("rounds", 3))
    libs = [(name, Attn4j(path)) for name, path in builds]
    first = libs[0][1]
    dev = torch.device("cuda")
    b, h, d = 1, 32, 128
    host = [torch.empty(b, h, n, d, dtype=torch.float32) for _ in range(3)]
    if first.lib.attn4j_structured_qkv(5, 7, *[ctypes.byref(describe(t)) for t in host]) != 0:
        raise RuntimeError(first.lib.attn4j_last_error().decode())
    q, k, v = (t.to(dev).bfloat16() for t in host)
    del host
    tq, tk, tv = describe(q), describe(k), describe(v)
    dense = torch.empty_like(q)
    if not once:
        t_dense = timed(lambda: first.flash(q, k, v, causal=True, out=dense), 5)
        print(f"{torch.cuda.get_device_name(0)}; N={n} B={b} H={h} d={d} bf16 causal; attn4j dense ({builds[0][0]}) "
              f"{t_dense * 1e3:.2f} ms; times in ms, one column per round")
    for tau in taus:
        t_arr = (ctypes.c_float * 1)(tau)
        p = SaleParams(ctypes.sizeof(SaleParams), 0.0, 1, ctypes.cast(t_arr, ctypes.c_void_p), 1, 0, 0, 0, 0, 0, torch.cuda.current_stream().cuda_stream)
        mask_bytes = ctypes.c_int64()
        first.lib.attn4j_sale_mask_bytes(ctypes.byref(tq), ctypes.byref(tk), ctypes.byref(p), ctypes.byref(mask_bytes))
        calls, first_mask, first_out = {}, None, None
        for name, lib in libs:
            mask = torch.full((mask_bytes.value,), 0xA5, dtype=torch.uint8, device=dev)
            out = torch.full_like(q, float("nan"))
            to = describe(out)

            def sale(lib=lib, mask=mask, to=to):
                if lib.lib.attn4j_sale_forward(ctypes.byref(tq), ctypes.byref(tk), ctypes.byref(tv), ctypes.byref(to), None,
                                               ctypes.byref(p), ctypes.c_void_p(mask.data_ptr()), mask_bytes, None) != 0:
                    raise RuntimeError(lib.lib.attn4j_last_error().decode())

            def sparse(lib=lib, mask=mask, to=to):
                if lib.lib.attn4j_block_sparse_forward(ctypes.byref(tq), ctypes.byref(tk), ctypes.byref(tv), ctypes.byref(to),
                                                       None, ctypes.byref(p), ctypes.c_void_p(mask.data_ptr()), mask_bytes,
                                                       None) != 0:
                    raise RuntimeError(lib.lib.attn4j_last_error().decode())
            sale()
            torch.cuda.synchronize()
            if once:
                continue
            if first_mask is None:
                first_mask, first_out = mask.clone(), out.clone()
            err = ((out.float() - dense.float()).norm() / dense.float().norm()).item()
            calls[name] = (sale, sparse, err, torch.equal(mask, first_mask), (out.float() - first_out.float()).abs().max().item())
        if once:
            continue
        times = {name: [] for name, _ in libs}
        for _ in range(rounds):
            for name, _ in libs:
                times[name].append((timed(calls[name][0], 5), timed(calls[name][1], 5)))
        for name, _ in libs:
            _, _, err, same, diff = calls[name]
            t_sale = [a * 1e3 for a, _ in times[name]]
            t_sparse = [s * 1e3 for _, s in times[name]]
            est = [a - s for a, s in zip(t_sale, t_sparse)]
            cols = lambda xs: " ".join(f"{x:6.2f}" for x in xs)
            print(f"tau {tau:<6} {name:<12} SALE {cols(t_sale)}  sparse {cols(t_sparse)}  estimation {cols(est)}  "
                  f"vs dense {t_dense * 1e3 / min(t_sale):.2f}x  rel. L2 {err:.2e}  mask==first {same}  max|out-first| {diff:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
