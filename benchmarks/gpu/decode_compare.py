#!/usr/bin/env python3
"""attn4j's CUDA FlashAttention decode (one or a few new tokens per sequence, GQA) against PyTorch SDPA.

usage: python3 benchmarks/gpu/decode_compare.py [path/to/libattn4j.so]

For each shape (bf16, GQA 32/8, d=128; B sequences of Nk cached keys, Nq new tokens each, bottom-right causal):
parity against an fp32 reference (exits non-zero past relative L2 1e-2), then the time of attn4j and of every
SDPA backend that takes the call (flash, cuDNN, efficient; GQA through enable_gqa), median of 50 timed runs
after warm-up, CUDA events, one process. GB/s = the K and V bytes read / t; the ratio is against SDPA's best.
"""
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from sdpa_compare import Attn4j, reference, rel_l2, timed

SHAPES = [(16, 16384, 1), (64, 4096, 1), (1, 32768, 1), (8, 8192, 4)]  # (B, Nk, Nq)
BACKENDS = (SDPBackend.FLASH_ATTENTION, SDPBackend.CUDNN_ATTENTION, SDPBackend.EFFICIENT_ATTENTION)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    lib = Attn4j(args[0] if args else "build/lib/libattn4j.so")
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    hq, hkv, d = 32, 8, 128
    failures = 0
    print(f"\n## Decode, GQA {hq}/{hkv}, d={d}, bf16 (GB/s = K and V bytes / t)\n")
    print("| B x Nk, Nq | parity | attn4j us | attn4j GB/s | " + " | ".join(f"SDPA {b.name} us" for b in BACKENDS)
          + " | attn4j / best SDPA |")
    print("|---|---|---|---|" + "---|" * len(BACKENDS) + "---|")
    torch.manual_seed(0)
    for b, nk, nq in SHAPES:
        q = torch.randn(b, hq, nq, d, device="cuda", dtype=torch.bfloat16)
        k = torch.randn(b, hkv, nk, d, device="cuda", dtype=torch.bfloat16)
        v = torch.randn_like(k)
        out = torch.empty_like(q)
        lib.flash(q, k, v, causal=True, out=out)
        torch.cuda.synchronize()
        n = min(b, 2)  # the fp32 reference of the first sequences
        err = rel_l2(out[:n], reference(q[:n], k[:n], v[:n], True, (-1, -1), 0.0, 0.0))
        failures += not err <= 1e-2
        t_ours = timed(lambda: lib.flash(q, k, v, causal=True, out=out), iters=50)
        # SDPA's causal mask is top-left aligned: a bottom-right one for Nq > 1 as a boolean mask.
        mask = None if nq == 1 else torch.ones(nq, nk, dtype=torch.bool, device="cuda").tril(nk - nq)
        times = []
        for backend in BACKENDS:
            try:
                with sdpa_kernel(backend):
                    t = timed(lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True), iters=50)
            except RuntimeError:
                t = float("nan")
            times.append(t)
        best = min((t for t in times if t == t), default=float("nan"))
        gbs = 2 * k.numel() * 2 / t_ours / 1e9
        print(f"| {b} x {nk}, {nq} | {err:.1e}{'' if err <= 1e-2 else ' FAIL'} | {t_ours * 1e6:.1f} | {gbs:.0f} | "
              + " | ".join(f"{t * 1e6:.1f}" for t in times) + f" | {best / t_ours:.2f}x |")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
