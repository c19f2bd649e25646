#!/usr/bin/env python3
"""attn4j's CUDA FlashAttention against PyTorch on the same GPU, through ctypes.

usage: python3 benchmarks/gpu/sdpa_compare.py [path/to/libattn4j.so] [--quick]

1. Parity: the same bf16/fp16 inputs through attn4j and torch.nn.functional.scaled_dot_product_attention
   (math backend in fp32 as the reference, and the flash backend), for every mask option and GQA.
   Exits non-zero if attn4j is off by more than the bf16 tolerance (relative L2 <= 1e-2).
2. Speed: TFLOP/s of attn4j, SDPA's FLASH_ATTENTION and CUDNN_ATTENTION backends in the same run
   (B=1, H=32, d=128, bf16, median of 10 timed runs after warm-up, CUDA events).
"""
import ctypes
import math
import statistics
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

DTYPES = {torch.float32: 0, torch.bfloat16: 1, torch.float16: 2}


class Tensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("dtype", ctypes.c_int32), ("device", ctypes.c_int32),
                ("shape", ctypes.c_int64 * 4), ("strides", ctypes.c_int64 * 4)]


class FlashParams(ctypes.Structure):
    _fields_ = [("size", ctypes.c_int32), ("scale", ctypes.c_float), ("softcap", ctypes.c_float), ("causal", ctypes.c_int32),
                ("window_left", ctypes.c_int32), ("window_right", ctypes.c_int32), ("num_threads", ctypes.c_int32),
                ("cuda_stream", ctypes.c_void_p)]


def describe(t):
    d = Tensor()
    d.data = t.data_ptr()
    d.dtype = DTYPES[t.dtype]
    d.device = t.device.index if t.is_cuda else -1
    for i in range(4):
        d.shape[i] = t.shape[i]
        d.strides[i] = t.stride(i)
    return d


class Attn4j:
    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        self.lib.attn4j_last_error.restype = ctypes.c_char_p
        self.lib.attn4j_version.restype = ctypes.c_char_p

    def flash(self, q, k, v, causal=False, window=(-1, -1), scale=0.0, softcap=0.0, out=None, lse=None):
        out = torch.empty(q.shape[:3] + (v.shape[3],), dtype=q.dtype, device=q.device) if out is None else out
        p = FlashParams(ctypes.sizeof(FlashParams), scale, softcap, 1 if causal else 0, window[0], window[1], 0,
                        torch.cuda.current_stream().cuda_stream)
        tq, tk, tv, to = describe(q), describe(k), describe(v), describe(out)
        tl = describe(lse) if lse is not None else None
        rc = self.lib.attn4j_flash_forward(ctypes.byref(tq), ctypes.byref(tk), ctypes.byref(tv), ctypes.byref(to),
                                           ctypes.byref(tl) if tl is not None else None, ctypes.byref(p))
        if rc != 0:
            raise RuntimeError(self.lib.attn4j_last_error().decode())
        return out


def reference(q, k, v, causal, window, scale, softcap):
    """fp32 attention with the library's bottom-right aligned masks (and soft-capping)."""
    group = q.shape[1] // k.shape[1]
    qf, kf, vf = q.float(), k.float().repeat_interleave(group, 1), v.float().repeat_interleave(group, 1)
    s = qf @ kf.transpose(-1, -2) * (scale or 1.0 / math.sqrt(q.shape[-1]))
    if softcap:
        s = softcap * torch.tanh(s / softcap)
    nq, nk = q.shape[2], k.shape[2]
    i = torch.arange(nq, device=q.device)[:, None] + (nk - nq)
    j = torch.arange(nk, device=q.device)[None, :]
    right = 0 if causal else window[1]
    visible = torch.ones(nq, nk, dtype=torch.bool, device=q.device)
    if window[0] >= 0:
        visible &= j >= i - window[0]
    if right >= 0:
        visible &= j <= i + right
    s = s.masked_fill(~visible, float("-inf"))
    p = torch.softmax(s, -1).nan_to_num(0.0)  # fully masked rows: 0, as the library defines them
    return p @ vf


def rel_l2(a, b):
    return ((a.float() - b.float()).norm() / b.float().norm().clamp_min(1e-30)).item()


def timed(fn, iters=10):
    for _ in range(3):
        fn()
    times = []
    for _ in range(iters):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    return statistics.median(times)


def speed(lib, heads, n, d, causal, backends):
    """FLOPs and seconds of attn4j and of each SDPA backend (NaN where it refuses) on one bf16 problem."""
    q = torch.randn(1, heads, n, d, device="cuda", dtype=torch.bfloat16)
    k, v = torch.randn_like(q), torch.randn_like(q)
    out = torch.empty_like(q)
    flops = 4 * heads * n * n * d / (2 if causal else 1)
    t_ours = timed(lambda: lib.flash(q, k, v, causal=causal, out=out))
    res = {}
    for backend in backends:
        try:
            with sdpa_kernel(backend):
                res[backend] = timed(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal))
        except RuntimeError:
            res[backend] = float("nan")
    return flops, t_ours, res


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    quick = "--quick" in sys.argv
    lib = Attn4j(args[0] if args else "build/lib/libattn4j.so")
    print(f"attn4j {lib.lib.attn4j_version().decode()}, torch {torch.__version__}, {torch.cuda.get_device_name()}")
    torch.manual_seed(0)
    failures = 0

    print("\n## Parity (relative L2 vs fp32 reference; SDPA flash for scale)\n")
    print("| case | dtype | attn4j | SDPA flash |\n|---|---|---|---|")
    cases = [
        ("full", 2, 8, 8, 1024, 1024, 128, dict()),
        ("causal", 1, 8, 8, 2048, 2048, 128, dict(causal=True)),
        ("gqa causal", 1, 32, 8, 1000, 1000, 128, dict(causal=True)),
        ("window", 1, 4, 4, 1500, 1500, 64, dict(window=(256, 0))),
        ("decode", 4, 32, 8, 1, 4096, 128, dict(causal=True)),
        ("decode, split keys", 1, 8, 2, 3, 20000, 64, dict()),
        ("chunked prefill", 1, 8, 8, 300, 2300, 64, dict(causal=True)),
        ("softcap", 1, 4, 4, 777, 777, 128, dict(softcap=30.0, scale=0.2)),
        ("d=256 causal", 1, 8, 4, 1000, 1000, 256, dict(causal=True)),
        ("d=256 decode", 2, 8, 2, 1, 5000, 256, dict()),
    ]
    for name, b, hq, hkv, nq, nk, d, opts in cases:
        for dtype in (torch.bfloat16, torch.float16):
            q = torch.randn(b, hq, nq, d, device="cuda", dtype=dtype)
            k = torch.randn(b, hkv, nk, d, device="cuda", dtype=dtype)
            v = torch.randn(b, hkv, nk, d, device="cuda", dtype=dtype)
            ref = reference(q, k, v, opts.get("causal", False), opts.get("window", (-1, -1)), opts.get("scale", 0.0),
                            opts.get("softcap", 0.0))
            out = lib.flash(q, k, v, **opts)
            torch.cuda.synchronize()
            err = rel_l2(out, ref)
            sdpa = "-"
            if not opts.get("softcap") and opts.get("window", (-1, -1)) == (-1, -1) and nq == nk:
                with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                    o = F.scaled_dot_product_attention(q, k, v, is_causal=opts.get("causal", False), enable_gqa=hq != hkv)
                sdpa = f"{rel_l2(o, ref):.2e}"
            ok = err <= 1e-2
            failures += not ok
            print(f"| {name} | {str(dtype)[6:]} | {err:.2e}{'' if ok else ' FAIL'} | {sdpa} |")

    print("\n## Speed (B=1, H=32, d=128, bf16; TFLOP/s = 4 B H N^2 d / t, halved for causal)\n")
    print("| N | mask | attn4j ms | attn4j TFLOP/s | SDPA flash TFLOP/s | SDPA cuDNN TFLOP/s | attn4j / flash |")
    print("|---|---|---|---|---|---|---|")
    for n in ([1024, 4096] if quick else [1024, 4096, 16384]):
        for causal in (False, True):
            flops, t_ours, res = speed(lib, 32, n, 128, causal, (SDPBackend.FLASH_ATTENTION, SDPBackend.CUDNN_ATTENTION))
            tf = lambda t: flops / t / 1e12
            print(f"| {n} | {'causal' if causal else 'full'} | {t_ours * 1e3:.3f} | {tf(t_ours):.1f} | "
                  f"{tf(res[SDPBackend.FLASH_ATTENTION]):.1f} | {tf(res[SDPBackend.CUDNN_ATTENTION]):.1f} | "
                  f"{res[SDPBackend.FLASH_ATTENTION] / t_ours:.2f}x |")

    print("\n## Head dim 256 (B=1, H=16, bf16, mma.sync kernel)\n")
    print("| N | mask | attn4j TFLOP/s | SDPA flash TFLOP/s | attn4j / flash |\n|---|---|---|---|---|")
    for n in ([4096] if quick else [4096, 16384]):
        for causal in (False, True):
            flops, t_ours, res = speed(lib, 16, n, 256, causal, (SDPBackend.FLASH_ATTENTION,))
            t_flash = res[SDPBackend.FLASH_ATTENTION]
            print(f"| {n} | {'causal' if causal else 'full'} | {flops / t_ours / 1e12:.1f} | {flops / t_flash / 1e12:.1f} | "
                  f"{t_flash / t_ours:.2f}x |")

    print("\n## Decode (Nq = 1, B=1, H=32, d=128, bf16; GB/s = K and V bytes read / t)\n")
    print("| Nk | attn4j us | attn4j GB/s | SDPA flash us | SDPA flash GB/s | attn4j / flash |")
    print("|---|---|---|---|---|---|")
    for nk in ([8192] if quick else [8192, 32768, 131072]):
        q = torch.randn(1, 32, 1, 128, device="cuda", dtype=torch.bfloat16)
        k = torch.randn(1, 32, nk, 128, device="cuda", dtype=torch.bfloat16)
        v = torch.randn_like(k)
        out = torch.empty_like(q)
        t_ours = timed(lambda: lib.flash(q, k, v, out=out), iters=50)
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            t_flash = timed(lambda: F.scaled_dot_product_attention(q, k, v), iters=50)
        gbs = lambda t: 2 * k.numel() * 2 / t / 1e9
        print(f"| {nk} | {t_ours * 1e6:.1f} | {gbs(t_ours):.0f} | {t_flash * 1e6:.1f} | {gbs(t_flash):.0f} | "
              f"{t_flash / t_ours:.2f}x |")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
