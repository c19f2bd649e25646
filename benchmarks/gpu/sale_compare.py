#!/usr/bin/env python3
"""attn4j's CUDA SALE against dense attention on the same GPU, through ctypes.

usage: python3 benchmarks/gpu/sale_compare.py [path/to/libattn4j.so] [--quick] [--n=N] [--tau=T]

Structured inputs (attn4j_structured_qkv, ATTN4J_PATTERN_MIXED, made on the host, then bf16 on the GPU),
B=1, H=32, d=128, causal: time of attn4j's SALE (estimation + block-sparse pass), of its estimation alone
(SALE minus the block-sparse pass over the same mask), of that block-sparse pass, of attn4j's dense
FlashAttention and of SDPA's
FLASH_ATTENTION and CUDNN_ATTENTION backends in the same run (median of 5, CUDA events); the mask's
density (kept share of the visible blocks), SALE's relative L2 error against attn4j's dense output, per
threshold; and on Hopper the estimation and the block-sparse pass with the portable mma.sync kernels
(ATTN4J_CUDA_WGMMA=0). --n and --tau pick one length and one threshold (e.g. under a profiler).
"""
import ctypes
import os
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from sdpa_compare import Attn4j as Flash, describe, timed


class SaleParams(ctypes.Structure):
    _fields_ = [("size", ctypes.c_int32), ("scale", ctypes.c_float), ("causal", ctypes.c_int32), ("thresholds", ctypes.c_void_p),
                ("num_thresholds", ctypes.c_int32), ("block_q", ctypes.c_int32), ("block_k", ctypes.c_int32),
                ("sink_blocks", ctypes.c_int32), ("local_blocks", ctypes.c_int32), ("num_threads", ctypes.c_int32),
                ("cuda_stream", ctypes.c_void_p)]


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    quick = "--quick" in sys.argv
    opts = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
    flash = Flash(args[0] if args else "build/lib/libattn4j.so")
    lib = flash.lib
    dev = torch.device("cuda")
    print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    b, h, d = 1, 32, 128
    lengths = [int(opts["n"])] if "n" in opts else [16384] if quick else [16384, 32768, 65536]
    taus = [float(opts["tau"])] if "tau" in opts else [0.05, 0.01, 0.001]
    print(f"B={b} H={h} d={d} bf16 causal, structured inputs (mixed); times in ms (median of 5)")
    print(f"{'N':>7} {'tau':>6} {'SALE':>9} {'estim.':>8} {'est/dense':>9} {'mma.sync est.':>13} {'sparse':>8} {'mma.sync sp.':>12} "
          f"{'density':>8} "
          f"{'dense':>9} {'SDPA flash':>11} {'SDPA cuDNN':>11} {'vs dense':>9} {'vs cuDNN':>9} {'rel. L2':>9}")
    for n in lengths:
        host = [torch.empty(b, h, n, d, dtype=torch.float32) for _ in range(3)]
        descs = [describe(t) for t in host]
        if lib.attn4j_structured_qkv(5, 7, *[ctypes.byref(x) for x in descs]) != 0:
            raise RuntimeError(lib.attn4j_last_error().decode())
        q, k, v = (t.to(dev).bfloat16() for t in host)
        dense = torch.empty_like(q)
        t_dense = timed(lambda: flash.flash(q, k, v, causal=True, out=dense), 5)
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            t_flash = timed(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True), 5)
        with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
            t_cudnn = timed(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True), 5)
        mask_bytes = ctypes.c_int64()
        for tau in taus:
            t_arr = (ctypes.c_float * 1)(tau)
            p = SaleParams(ctypes.sizeof(SaleParams), 0.0, 1, ctypes.cast(t_arr, ctypes.c_void_p), 1, 0, 0, 0, 0, 0,
                           torch.cuda.current_stream().cuda_stream)
            tq, tk, tv = describe(q), describe(k), describe(v)
            lib.attn4j_sale_mask_bytes(ctypes.byref(tq), ctypes.byref(tk), ctypes.byref(p), ctypes.byref(mask_bytes))
            mask = torch.empty(mask_bytes.value, dtype=torch.uint8, device=dev)
            out = torch.empty_like(q)
            to = describe(out)

            def run():
                rc = lib.attn4j_sale_forward(ctypes.byref(tq), ctypes.byref(tk), ctypes.byref(tv), ctypes.byref(to), None,
                                             ctypes.byref(p), ctypes.c_void_p(mask.data_ptr()), mask_bytes, None)
                if rc != 0:
                    raise RuntimeError(lib.attn4j_last_error().decode())

            def sparse():
                rc = lib.attn4j_block_sparse_forward(ctypes.byref(tq), ctypes.byref(tk), ctypes.byref(tv), ctypes.byref(to),
                                                     None, ctypes.byref(p), ctypes.c_void_p(mask.data_ptr()), mask_bytes, None)
                if rc != 0:
                    raise RuntimeError(lib.attn4j_last_error().decode())
            os.environ["ATTN4J_CUDA_WGMMA"] = "0"
            t_portable = timed(run, 5)
            t_sparse_portable = timed(sparse, 5)
            os.environ.pop("ATTN4J_CUDA_WGMMA")
            t_sale = timed(run, 5)
            err = ((out.float() - dense.float()).norm() / dense.float().norm()).item()
            t_sparse = timed(sparse, 5)
            # Kept share of the visible blocks (causal, square: query block i sees key blocks 0..i).
            blocks = (n + 63) // 64
            bits = torch.bitwise_and(mask.view(b * h, blocks, -1).unsqueeze(-1).int() >> torch.arange(8, device=dev), 1)
            density = bits.sum().item() / (b * h * blocks * (blocks + 1) / 2)
            est, est_portable = t_sale - t_sparse, t_portable - t_sparse_portable
            print(f"{n:7d} {tau:6.3f} {t_sale * 1e3:9.2f} {est * 1e3:8.2f} {est / t_dense:9.1%} {est_portable * 1e3:13.2f} "
                  f"{t_sparse * 1e3:8.2f} {t_sparse_portable * 1e3:12.2f} {density:8.1%} {t_dense * 1e3:9.2f} {t_flash * 1e3:11.2f} {t_cudnn * 1e3:11.2f} "
                  f"{t_dense / t_sale:8.2f}x {t_cudnn / t_sale:8.2f}x {err:9.2e}")
        del q, k, v, dense, host
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
