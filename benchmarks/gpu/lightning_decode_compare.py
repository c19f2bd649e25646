#!/usr/bin/env python3
"""attn4j's CUDA Lightning Attention-2 decode against the chunked passes and a PyTorch eager recurrence.

usage: python3 benchmarks/gpu/lightning_decode_compare.py [path/to/libattn4j.so] [--quick]

Per shape (B sequences, H heads, head dim d = dv, n new tokens each; bf16 q, k, v and out, fp32 state
[B, H, d, d] updated in place by attn4j_lightning_decode, TransNormerLLM slopes):
1. parity of out and the new state against the eager recurrence in fp32, token by token:
   S = lambda S + k_t^T v_t, o_t = q_t S (exits non-zero past rel. L2 1e-2 for out, 1e-4 for the state);
2. times, all in this process on the same tensors: attn4j (the decode kernel), the same call on the chunked
   passes (ATTN4J_LIGHTNING_DECODE=0), and the eager recurrence (fp32 copies of q, k, v made beforehand;
   per token a scale, a batched outer-product update and a batched q S). "call" is the median of one call
   between CUDA events (host time included), "b2b" the mean of 50 calls back to back (the GPU's time once
   calls overlap their launches). State GB/s = the state's bytes read and written, 2 * B H d d * 4, over the
   b2b time; the ceiling beside it is a device-to-device copy of 2 GiB in the same run (bytes read and
   written / t).
"""
import ctypes
import math
import os
import statistics
import sys

import torch

from sdpa_compare import describe


class LightningParams(ctypes.Structure):
    _fields_ = [("size", ctypes.c_int32), ("slopes", ctypes.c_void_p), ("num_slopes", ctypes.c_int32),
                ("block_size", ctypes.c_int32), ("num_threads", ctypes.c_int32), ("cuda_stream", ctypes.c_void_p),
                ("cu_seqlens", ctypes.c_void_p), ("num_seqs", ctypes.c_int32)]


def decode_call(lib, q, k, v, out, state, slopes):
    """One decode call with its ctypes arguments built once: timing it measures the library."""
    p = LightningParams(ctypes.sizeof(LightningParams), ctypes.cast(slopes, ctypes.c_void_p), len(slopes), 0, 0,
                        torch.cuda.current_stream().cuda_stream, None, 0)
    tq, tk, tv, to, ts = describe(q), describe(k), describe(v), describe(out), describe(state)
    args = (ctypes.byref(tq), ctypes.byref(tk), ctypes.byref(tv), ctypes.byref(to), ctypes.byref(ts), ctypes.byref(p))
    fn = lib.attn4j_lightning_decode

    def call():
        if fn(*args) != 0:
            raise RuntimeError(lib.attn4j_last_error().decode())
    call.keep = (p, tq, tk, tv, to, ts)
    return call


def eager(qf, kf, vf, state, lam):
    """The recurrence in PyTorch ops, fp32, state [B, H, d, dv] in place; returns o [B, H, n, dv]."""
    b, h, n, d = qf.shape
    s = state.view(b * h, d, -1)
    outs = []
    for t in range(n):
        state.mul_(lam)
        s.baddbmm_(kf[:, :, t].reshape(b * h, d, 1), vf[:, :, t].reshape(b * h, 1, -1))
        outs.append(torch.bmm(qf[:, :, t].reshape(b * h, 1, d), s).view(b, h, 1, -1))
    return torch.cat(outs, 2)


def one_call(fn, iters):
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


def back_to_back(fn, iters):
    fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / 1e3 / iters


def rel_l2(a, b):
    return ((a.float() - b.float()).norm() / b.float().norm()).item()


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    quick = "--quick" in sys.argv
    lib = ctypes.CDLL(args[0] if args else "build/lib/libattn4j.so")
    lib.attn4j_last_error.restype = ctypes.c_char_p
    dev = torch.device("cuda")
    torch.manual_seed(0)
    print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")

    src = torch.empty(1 << 29, device=dev)  # 2 GiB
    dst = torch.empty_like(src)
    t_copy = one_call(lambda: dst.copy_(src), 10)
    ceiling = 2 * src.numel() * 4 / t_copy / 1e9
    del src, dst
    print(f"device-to-device copy: {ceiling:.0f} GB/s (read + written)\n")

    shapes = [(1, 32, 128, 1), (64, 32, 128, 1), (256, 16, 64, 1), (64, 32, 128, 4), (64, 32, 128, 16),
              (8, 32, 128, 1), (16, 32, 128, 16)]
    if quick:
        shapes = shapes[:3]
    print("| B x H x d, n | parity out / state | attn4j call us | attn4j b2b us | state GB/s | % of copy | M tokens/s "
          "| chunked call us | eager call us | eager b2b us | vs chunked | vs eager (b2b) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for b, h, d, n in shapes:
        slopes_c = (ctypes.c_float * h)()
        if lib.attn4j_lightning_slopes(h, 0, 1, slopes_c) != 0:
            raise RuntimeError(lib.attn4j_last_error().decode())
        lam = torch.exp(-torch.tensor(list(slopes_c), device=dev)).view(1, h, 1, 1)
        q = (torch.randn(b, h, n, d, device=dev) * d ** -0.25).bfloat16()
        k = (torch.randn(b, h, n, d, device=dev) * d ** -0.25).bfloat16()
        v = torch.randn(b, h, n, d, device=dev).bfloat16()
        s0 = torch.randn(b, h, d, d, device=dev)
        qf, kf, vf = q.float(), k.float(), v.float()

        state = s0.clone()
        out = torch.empty(b, h, n, d, device=dev, dtype=torch.bfloat16)
        call = decode_call(lib, q, k, v, out, state, slopes_c)
        call()
        ref_state = s0.clone()
        ref = eager(qf, kf, vf, ref_state, lam)
        torch.cuda.synchronize()
        e_out, e_state = rel_l2(out, ref), rel_l2(state, ref_state)
        worst = max(worst, e_out / 1e-2, e_state / 1e-4)

        t_call = one_call(call, 50)
        t_b2b = back_to_back(call, 50)
        os.environ["ATTN4J_LIGHTNING_DECODE"] = "0"
        t_chunked = one_call(call, 5)
        os.environ.pop("ATTN4J_LIGHTNING_DECODE")
        work = s0.clone()
        t_eager = one_call(lambda: eager(qf, kf, vf, work, lam), 20)
        t_eager_b2b = back_to_back(lambda: eager(qf, kf, vf, work, lam), 20)
        gbs = 2 * b * h * d * d * 4 / t_b2b / 1e9
        print(f"| {b} x {h} x {d}, {n} | {e_out:.1e} / {e_state:.1e} | {t_call * 1e6:.1f} | {t_b2b * 1e6:.1f} | {gbs:.0f} "
              f"| {100 * gbs / ceiling:.0f}% | {b * n / t_b2b / 1e6:.1f} | {t_chunked * 1e6:.0f} | {t_eager * 1e6:.1f} "
              f"| {t_eager_b2b * 1e6:.1f} | {t_chunked / t_call:.0f}x | {t_eager_b2b / t_b2b:.1f}x |")
        del q, k, v, s0, qf, kf, vf, state, out, ref, ref_state, work
        torch.cuda.empty_cache()
    ok = worst <= 1.0 and math.isfinite(worst)
    print(f"\nparity: worst error / tolerance {worst:.2f} ({'OK' if ok else 'FAILED'})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
