#!/usr/bin/env python3
"""attn4j's CUDA decode over a paged KV cache against the same cache contiguous, and against PyTorch SDPA.

usage: python3 benchmarks/gpu/paged_decode_compare.py [path/to/libattn4j.so]

For each shape (bf16, GQA 32/8, d=128, B sequences, Nq new tokens each, bottom-right causal) the keys lie
contiguous [B, 8, Nk, 128] and in a pool of shuffled pages of 16, 64 and 256 keys with a device block table
and device cache lengths. Checks: paged == contiguous bit for bit, and the contiguous output against an fp32
reference (exits non-zero otherwise). Times (median of 50 runs after warm-up, CUDA events, one process):
attn4j contiguous, attn4j paged per page size, SDPA's best backend on the contiguous keys (equal lengths
only: SDPA has no per-sequence cache length), and the append of one new token per sequence. GB/s = K and V
bytes of the cached keys / t.
"""
import ctypes
import os
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sdpa_compare import describe, reference, rel_l2, timed  # noqa: E402

SHAPES = [(16, 16384, 1, False), (64, 4096, 1, False), (1, 32768, 1, False), (8, 8192, 4, False),
          (64, 8192, 1, True)]  # (B, Nk, Nq, mixed lengths 512..Nk)
PAGES = (16, 64, 256)
BACKENDS = (SDPBackend.FLASH_ATTENTION, SDPBackend.CUDNN_ATTENTION, SDPBackend.EFFICIENT_ATTENTION)


class Params(ctypes.Structure):
    _fields_ = [("size", ctypes.c_int32), ("scale", ctypes.c_float), ("softcap", ctypes.c_float),
                ("causal", ctypes.c_int32), ("window_left", ctypes.c_int32), ("window_right", ctypes.c_int32),
                ("num_threads", ctypes.c_int32), ("cuda_stream", ctypes.c_void_p),
                ("q_lens", ctypes.c_void_p), ("kv_lens", ctypes.c_void_p), ("q_starts", ctypes.c_void_p),
                ("kv_starts", ctypes.c_void_p), ("cu_seqlens_q", ctypes.c_void_p), ("cu_seqlens_k", ctypes.c_void_p),
                ("num_seqs", ctypes.c_int32), ("max_seqlen_q", ctypes.c_int32), ("max_seqlen_k", ctypes.c_int32),
                ("block_table", ctypes.c_void_p), ("max_pages", ctypes.c_int32)]


class AppendParams(ctypes.Structure):
    _fields_ = [("size", ctypes.c_int32), ("block_table", ctypes.c_void_p), ("max_pages", ctypes.c_int32),
                ("cache_lens", ctypes.c_void_p), ("new_lens", ctypes.c_void_p), ("num_threads", ctypes.c_int32),
                ("cuda_stream", ctypes.c_void_p)]


class Attn4j:
    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        self.lib.attn4j_last_error.restype = ctypes.c_char_p

    def check(self, rc):
        if rc != 0:
            raise RuntimeError(self.lib.attn4j_last_error().decode())

    def flash(self, q, k, v, out, kv_lens=None, table=None, max_k=0):
        p = Params()
        self.lib.attn4j_flash_params_init(ctypes.byref(p))
        p.causal = 1
        p.cuda_stream = torch.cuda.current_stream().cuda_stream
        if kv_lens is not None:
            p.kv_lens, p.max_seqlen_k = kv_lens.data_ptr(), max_k
        if table is not None:
            p.block_table, p.max_pages = table.data_ptr(), table.shape[1]
        tq, tk, tv, to = describe(q), describe(k), describe(v), describe(out)
        self.check(self.lib.attn4j_flash_forward(ctypes.byref(tq), ctypes.byref(tk), ctypes.byref(tv), ctypes.byref(to),
                                                 None, ctypes.byref(p)))

    def append(self, kp, vp, kn, vn, table, cache_lens):
        p = AppendParams()
        self.lib.attn4j_kv_append_params_init(ctypes.byref(p))
        p.block_table, p.max_pages, p.cache_lens = table.data_ptr(), table.shape[1], cache_lens.data_ptr()
        p.cuda_stream = torch.cuda.current_stream().cuda_stream
        tkp, tvp, tkn, tvn = describe(kp), describe(vp), describe(kn), describe(vn)
        self.check(self.lib.attn4j_kv_cache_append(ctypes.byref(tkp), ctypes.byref(tvp), ctypes.byref(tkn),
                                                   ctypes.byref(tvn), ctypes.byref(p)))


def paged(k, v, size, gen):
    """k, v [B, H, Nk, d] as pools of shuffled pages [pages, H, size, d] and their table [B, max_pages]."""
    b, h, nk, d = k.shape
    per = (nk + size - 1) // size + 1  # one spare page per sequence, for the append
    table = torch.randperm(b * per, generator=gen).to(torch.int32).view(b, per).cuda()

    def pool(x):
        rows = torch.zeros(b, h, per * size, d, dtype=x.dtype, device="cuda")
        rows[:, :, :nk] = x
        out = torch.zeros(b * per, h, size, d, dtype=x.dtype, device="cuda")
        out[table.long().view(-1)] = rows.view(b, h, per, size, d).permute(0, 2, 1, 3, 4).reshape(b * per, h, size, d)
        return out

    return pool(k), pool(v), table


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    lib = Attn4j(args[0] if args else "build/lib/libattn4j.so")
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    hq, hkv, d = 32, 8, 128
    failures = 0
    gen = torch.Generator().manual_seed(1)
    print(f"\n## Paged decode, GQA {hq}/{hkv}, d={d}, bf16 (GB/s = cached K and V bytes / t)\n")
    print("| B x Nk, Nq | contiguous us (GB/s) | " + " | ".join(f"paged {s} us (GB/s)" for s in PAGES)
          + " | SDPA best us | paged 16 / SDPA best | append us |")
    print("|---|---|" + "---|" * len(PAGES) + "---|---|---|")
    torch.manual_seed(0)
    for b, nk, nq, mixed in SHAPES:
        q = torch.randn(b, hq, nq, d, device="cuda", dtype=torch.bfloat16)
        k = torch.randn(b, hkv, nk, d, device="cuda", dtype=torch.bfloat16)
        v = torch.randn_like(k)
        lens = torch.randint(512, nk + 1, (b,), generator=gen, dtype=torch.int32) if mixed else \
            torch.full((b,), nk, dtype=torch.int32)
        lens_d = lens.cuda()
        cached = int(lens.sum()) * hkv * d * 2 * 2
        out = torch.empty_like(q)
        lib.flash(q, k, v, out, kv_lens=lens_d, max_k=nk)
        torch.cuda.synchronize()
        n = min(b, 2)
        want = torch.cat([reference(q[i:i + 1], k[i:i + 1, :, :int(lens[i])], v[i:i + 1, :, :int(lens[i])], True,
                                    (-1, -1), 0.0, 0.0) for i in range(n)])
        err = rel_l2(out[:n], want)
        failures += not err <= 1e-2
        t_flat = timed(lambda: lib.flash(q, k, v, out, kv_lens=lens_d, max_k=nk), iters=50)
        cells, t16, t_append = [], None, float("nan")
        for size in PAGES:
            kp, vp, table = paged(k, v, size, gen)
            got = torch.empty_like(q)
            lib.flash(q, kp, vp, got, kv_lens=lens_d, table=table, max_k=nk)
            torch.cuda.synchronize()
            same = torch.equal(got, out)
            failures += not same
            t = timed(lambda: lib.flash(q, kp, vp, got, kv_lens=lens_d, table=table, max_k=nk), iters=50)
            cells.append(f"{t * 1e6:.1f} ({cached / t / 1e9:.0f}){'' if same else ' DIFFERS'}")
            if size == 16:
                t16 = t
                kn = torch.randn(b, hkv, 1, d, device="cuda", dtype=torch.bfloat16)
                vn = torch.randn_like(kn)
                t_append = timed(lambda: lib.append(kp, vp, kn, vn, table, lens_d), iters=50)
        times = []
        if not mixed:
            mask = None if nq == 1 else torch.ones(nq, nk, dtype=torch.bool, device="cuda").tril(nk - nq)
            for backend in BACKENDS:
                try:
                    with sdpa_kernel(backend):
                        times.append(timed(lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True),
                                           iters=50))
                except RuntimeError:
                    pass
        best = min(times) if times else float("nan")
        print(f"| {b} x {nk}{' mixed' if mixed else ''}, {nq} | {t_flat * 1e6:.1f} ({cached / t_flat / 1e9:.0f}) | "
              + " | ".join(cells) + f" | {best * 1e6:.1f} | {best / t16:.2f}x | {t_append * 1e6:.1f} |"
              + ("" if err <= 1e-2 else f" parity FAIL {err:.1e}"))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
