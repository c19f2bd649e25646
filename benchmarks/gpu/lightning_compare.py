#!/usr/bin/env python3
"""attn4j's CUDA Lightning Attention-2 against PyTorch on the same GPU, through ctypes.

usage: python3 benchmarks/gpu/lightning_compare.py [path/to/libattn4j.so] [--quick]

1. Correctness: bf16 inputs through attn4j and a PyTorch fp32 implementation of the same
   recurrence (chunked, exact: o_i = sum_{j <= i} lambda^(i-j) (q_i . k_j) v_j with lambda = exp(-slope),
   TransNormerLLM slopes, plus the final state); exits non-zero above the bf16 tolerance (rel. L2 1e-2).
   On a Hopper GPU both kernel sets run: the wgmma passes (the default there) and the mma.sync ones
   (ATTN4J_CUDA_WGMMA=0).
2. Speed: tokens/s of attn4j for B=1, H=32, d=128, bf16, N from 4K to 1M (median of 5 timed runs after
   warm-up, CUDA events around one call whose ctypes arguments were built beforehand), the mma.sync kernels on the same tensors, and causal SDPA (FLASH_ATTENTION
   backend) on the same shape in the same run up to the length that fits.
"""
import ctypes
import os
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from sdpa_compare import describe, timed


class LightningParams(ctypes.Structure):
    _fields_ = [("size", ctypes.c_int32), ("slopes", ctypes.c_void_p), ("num_slopes", ctypes.c_int32), ("block_size", ctypes.c_int32),
                ("num_threads", ctypes.c_int32), ("cuda_stream", ctypes.c_void_p)]


class Attn4j:
    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        self.lib.attn4j_last_error.restype = ctypes.c_char_p

    def slopes(self, heads):
        out = (ctypes.c_float * heads)()
        if self.lib.attn4j_lightning_slopes(heads, 0, 1, out) != 0:
            raise RuntimeError(self.lib.attn4j_last_error().decode())
        return out

    def lightning_call(self, q, k, v, slopes, out, state_out=None):
        """A call with its arguments described once: timing it measures the library, not the marshalling."""
        p = LightningParams(ctypes.sizeof(LightningParams), ctypes.cast(slopes, ctypes.c_void_p), len(slopes), 0, 0,
                            torch.cuda.current_stream().cuda_stream)
        tq, tk, tv, to = describe(q), describe(k), describe(v), describe(out)
        ts = describe(state_out) if state_out is not None else None
        args = (ctypes.byref(tq), ctypes.byref(tk), ctypes.byref(tv), ctypes.byref(to), None,
                ctypes.byref(ts) if ts is not None else None, ctypes.byref(p))
        fn = self.lib.attn4j_lightning_forward

        def call():
            if fn(*args) != 0:
                raise RuntimeError(self.lib.attn4j_last_error().decode())
            return out
        call.keep = (p, tq, tk, tv, to, ts)
        return call

    def lightning(self, q, k, v, slopes, out=None, state_out=None):
        out = torch.empty(q.shape[:3] + (v.shape[3],), dtype=q.dtype, device=q.device) if out is None else out
        return self.lightning_call(q, k, v, slopes, out, state_out)()


def reference(q, k, v, slopes, chunk=256):
    """The recurrence in fp32, exactly, chunk by chunk (intra-chunk decay mask + carried state)."""
    b, h, n, d = q.shape
    lam = torch.tensor(list(slopes), dtype=torch.float64, device=q.device)
    qf, kf, vf = q.float(), k.float(), v.float()
    state = torch.zeros(b, h, d, v.shape[3], dtype=torch.float32, device=q.device)
    outs = []
    for c0 in range(0, n, chunk):
        c1 = min(n, c0 + chunk)
        t = torch.arange(c1 - c0, device=q.device, dtype=torch.float64)
        diff = t[:, None] - t[None, :]
        mask = torch.where(diff >= 0, torch.exp(-lam[:, None, None] * diff.clamp(min=0)), torch.zeros_like(diff)).float()
        qc, kc, vc = qf[:, :, c0:c1], kf[:, :, c0:c1], vf[:, :, c0:c1]
        intra = ((qc @ kc.transpose(-1, -2)) * mask) @ vc
        inter = torch.exp(-lam[:, None] * (t[None, :] + 1)).float()[None, :, :, None] * (qc @ state)
        outs.append(intra + inter)
        m = c1 - c0
        wk = torch.exp(-lam[:, None] * (m - 1 - t[None, :])).float()[None, :, :, None]
        state = torch.exp(-lam * m).float()[None, :, None, None] * state + (kc * wk).transpose(-1, -2) @ vc
    return torch.cat(outs, 2), state


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    quick = "--quick" in sys.argv
    lib = Attn4j(args[0] if args else "build/lib/libattn4j.so")
    torch.manual_seed(0)
    dev = torch.device("cuda")
    print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")

    worst = 0.0
    # (the last two: enough chunks per head and heads that a block walks a run of several chunks)
    for (b, h, n, d) in [(1, 4, 1000, 64), (2, 8, 3000, 128), (1, 2, 70000, 64), (2, 32, 5000, 128), (1, 32, 100000, 64)]:
        q = (torch.randn(b, h, n, d, device=dev) * d ** -0.25).bfloat16()
        k = (torch.randn(b, h, n, d, device=dev) * d ** -0.25).bfloat16()
        v = torch.randn(b, h, n, d, device=dev).bfloat16()
        slopes = lib.slopes(h)
        ref, ref_state = reference(q, k, v, slopes)
        for kernels in ("wgmma", "mma.sync"):
            os.environ["ATTN4J_CUDA_WGMMA"] = "1" if kernels == "wgmma" else "0"
            state = torch.empty(b, h, d, d, device=dev)
            out = lib.lightning(q, k, v, slopes, out=torch.empty(b, h, n, d, device=dev), state_out=state)
            torch.cuda.synchronize()
            e = ((out - ref).norm() / ref.norm()).item()
            es = ((state - ref_state).norm() / ref_state.norm()).item()
            worst = max(worst, e, es)
            print(f"parity B={b} H={h} N={n} d={d} ({kernels}): rel. L2 out {e:.2e}, state {es:.2e}")
        os.environ.pop("ATTN4J_CUDA_WGMMA")
    print(f"worst rel. L2 vs the fp32 PyTorch recurrence: {worst:.2e} ({'OK' if worst <= 1e-2 else 'FAILED'})")

    b, h, d = 1, 32, 128
    slopes = lib.slopes(h)
    lengths = [4096, 16384, 65536] if quick else [4096, 16384, 65536, 262144, 1048576]
    print(f"\nspeed: B={b} H={h} d={d} bf16, tokens/s (median of 5)")
    print(f"{'N':>9} {'attn4j':>14} {'mma.sync':>14} {'SDPA flash causal':>18} {'attn4j / SDPA':>14}")
    for n in lengths:
        q = torch.randn(b, h, n, d, device=dev, dtype=torch.bfloat16) * d ** -0.25
        k = torch.randn(b, h, n, d, device=dev, dtype=torch.bfloat16) * d ** -0.25
        v = torch.randn(b, h, n, d, device=dev, dtype=torch.bfloat16)
        out = torch.empty_like(q)
        call = lib.lightning_call(q, k, v, slopes, out)
        t = timed(call, 5)
        os.environ["ATTN4J_CUDA_WGMMA"] = "0"
        t_sync = timed(call, 5)
        os.environ.pop("ATTN4J_CUDA_WGMMA")
        sdpa = ""
        ratio = ""
        if n <= 65536:
            with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                ts = timed(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True), 5)
            sdpa = f"{n / ts:18,.0f}"
            ratio = f"{ts / t:13.1f}x"
        print(f"{n:9d} {n / t:14,.0f} {n / t_sync:14,.0f} {sdpa:>18} {ratio:>14}")
        del q, k, v, out
        torch.cuda.empty_cache()
    return 0 if worst <= 1e-2 else 1


if __name__ == "__main__":
    sys.exit(main())
