#!/usr/bin/env python3
"""attn4j's CUDA FlashAttention over batches of sequences of different lengths, against PyTorch.

usage: python3 benchmarks/gpu/varlen_compare.py [path/to/libattn4j.so] [--quick]

1. Parity (bf16, GQA, causal): attn4j's padded form against SDPA given the equivalent boolean mask
   (math backend in fp32; padded query rows see their sequence's valid keys), and the packed form
   against SDPA over each sequence alone. Exits non-zero past relative L2 1e-2.
2. Speed: a batch with lengths drawn from 128..4096 (seeded) up to 64K tokens, causal, GQA 32/8,
   d=128, bf16: attn4j packed (host and device length arrays), attn4j on an equal-length batch,
   SDPA over jagged nested tensors (its flash varlen kernel) and SDPA with the equivalent mask on
   each backend that takes one. TFLOP/s = 2 H d sum(L^2) / t (causal: half of 4 H d L^2), median of
   10 timed runs after warm-up, CUDA events, one process.
3. Lightning over the same packed batch (H 32, d=128, bf16, TransNormerLLM slopes): M tokens/s of the
   packed call against an equal-length batch of the same tokens and against one call per sequence.
"""
import ctypes
import os
import random
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sdpa_compare import describe, rel_l2, timed  # noqa: E402


class Params(ctypes.Structure):
    _fields_ = [("size", ctypes.c_int32), ("scale", ctypes.c_float), ("softcap", ctypes.c_float),
                ("causal", ctypes.c_int32), ("window_left", ctypes.c_int32), ("window_right", ctypes.c_int32),
                ("num_threads", ctypes.c_int32), ("cuda_stream", ctypes.c_void_p),
                ("q_lens", ctypes.c_void_p), ("kv_lens", ctypes.c_void_p), ("q_starts", ctypes.c_void_p),
                ("kv_starts", ctypes.c_void_p), ("cu_seqlens_q", ctypes.c_void_p), ("cu_seqlens_k", ctypes.c_void_p),
                ("num_seqs", ctypes.c_int32), ("max_seqlen_q", ctypes.c_int32), ("max_seqlen_k", ctypes.c_int32)]


class LightningParams(ctypes.Structure):
    _fields_ = [("size", ctypes.c_int32), ("slopes", ctypes.c_void_p), ("num_slopes", ctypes.c_int32),
                ("block_size", ctypes.c_int32), ("num_threads", ctypes.c_int32), ("cuda_stream", ctypes.c_void_p),
                ("cu_seqlens", ctypes.c_void_p), ("num_seqs", ctypes.c_int32)]


class Attn4j:
    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        self.lib.attn4j_last_error.restype = ctypes.c_char_p

    def flash(self, q, k, v, out, causal=True, **lengths):
        """lengths: q_lens/kv_lens (padded) or cu_q/cu_k (packed), each an int32 CPU or CUDA tensor."""
        p = Params()
        self.lib.attn4j_flash_params_init(ctypes.byref(p))
        p.causal = 1 if causal else 0
        p.cuda_stream = torch.cuda.current_stream().cuda_stream
        if "cu_q" in lengths:
            p.cu_seqlens_q, p.cu_seqlens_k = lengths["cu_q"].data_ptr(), lengths["cu_k"].data_ptr()
            p.num_seqs = lengths["cu_q"].numel() - 1
            p.max_seqlen_q = lengths.get("max_q", 0)
        if "q_lens" in lengths:
            p.q_lens, p.kv_lens = lengths["q_lens"].data_ptr(), lengths["kv_lens"].data_ptr()
        tq, tk, tv, to = describe(q), describe(k), describe(v), describe(out)
        rc = self.lib.attn4j_flash_forward(ctypes.byref(tq), ctypes.byref(tk), ctypes.byref(tv), ctypes.byref(to),
                                           None, ctypes.byref(p))
        if rc != 0:
            raise RuntimeError(self.lib.attn4j_last_error().decode())
        return out

    def lightning(self, q, k, v, out, slopes, cu=None):
        """cu: int32 CPU prefix sums (packed), or None."""
        p = LightningParams()
        self.lib.attn4j_lightning_params_init(ctypes.byref(p))
        p.slopes, p.num_slopes = ctypes.cast(slopes, ctypes.c_void_p), len(slopes)
        p.cuda_stream = torch.cuda.current_stream().cuda_stream
        if cu is not None:
            p.cu_seqlens, p.num_seqs = cu.data_ptr(), cu.numel() - 1
        tq, tk, tv, to = describe(q), describe(k), describe(v), describe(out)
        rc = self.lib.attn4j_lightning_forward(ctypes.byref(tq), ctypes.byref(tk), ctypes.byref(tv), ctypes.byref(to),
                                               None, None, ctypes.byref(p))
        if rc != 0:
            raise RuntimeError(self.lib.attn4j_last_error().decode())
        return out


def draw_lengths(total, lo, hi, seed):
    rng = random.Random(seed)
    lens = []
    while sum(lens) < total:
        lens.append(min(rng.randint(lo, hi), total - sum(lens)))
    return lens


def prefix(lens, device):
    return torch.tensor([0] + list(torch.tensor(lens).cumsum(0).tolist()), dtype=torch.int32, device=device)


def padded_mask(lens, n):
    """[B, 1, n, n] boolean: valid rows causal (bottom-right, lq = lk), padded rows every valid key."""
    i = torch.arange(n, device="cuda")[:, None]
    j = torch.arange(n, device="cuda")[None, :]
    masks = []
    for L in lens:
        key_ok = j < L
        m = torch.where(i < L, key_ok & (j <= i), key_ok.expand(n, n))
        masks.append(m)
    return torch.stack(masks)[:, None]


def parity(lib):
    torch.manual_seed(0)
    failures = 0
    hq, hkv, d = 8, 2, 128
    lens = [300, 1, 129, 0, 700, 64]
    n = max(lens) + 3
    print("\n## Parity (bf16, GQA 8/2, d=128, causal; relative L2 against fp32 SDPA math)\n")
    print("| form | attn4j |\n|---|---|")
    q = torch.randn(len(lens), hq, n, d, device="cuda", dtype=torch.bfloat16)
    k = torch.randn(len(lens), hkv, n, d, device="cuda", dtype=torch.bfloat16)
    v = torch.randn_like(k)
    rep = lambda t: t.float().repeat_interleave(hq // hkv, 1)
    with sdpa_kernel(SDPBackend.MATH):
        ref = F.scaled_dot_product_attention(q.float(), rep(k), rep(v), attn_mask=padded_mask(lens, n))
    ref = torch.where(torch.tensor(lens, device="cuda")[:, None, None, None] > 0, ref, torch.zeros_like(ref))
    lt = torch.tensor(lens, dtype=torch.int32)
    for where in ("cpu", "cuda"):
        out = torch.full((len(lens), hq, n, d), float("nan"), device="cuda", dtype=torch.bfloat16)
        lib.flash(q, k, v, out, q_lens=lt.to(where), kv_lens=lt.to(where))
        torch.cuda.synchronize()
        err = rel_l2(out, ref)
        failures += not err <= 1e-2
        print(f"| padded, {where} lengths, vs SDPA with the boolean mask | {err:.2e}{'' if err <= 1e-2 else ' FAIL'} |")
    pq = torch.cat([q[b, :, :L].transpose(0, 1) for b, L in enumerate(lens)]).transpose(0, 1)[None].contiguous()
    pk = torch.cat([k[b, :, :L].transpose(0, 1) for b, L in enumerate(lens)]).transpose(0, 1)[None].contiguous()
    pv = torch.cat([v[b, :, :L].transpose(0, 1) for b, L in enumerate(lens)]).transpose(0, 1)[None].contiguous()
    out = torch.empty_like(pq)
    cu = prefix(lens, "cpu")
    lib.flash(pq, pk, pv, out, cu_q=cu, cu_k=cu)
    torch.cuda.synchronize()
    alone = []
    for b, L in enumerate(lens):
        if L == 0:
            continue
        with sdpa_kernel(SDPBackend.MATH):
            alone.append(F.scaled_dot_product_attention(q[b:b + 1, :, :L].float(), rep(k[b:b + 1, :, :L]),
                                                        rep(v[b:b + 1, :, :L]), is_causal=True)[0])
    ref_packed = torch.cat(alone, dim=1)[None]
    err = rel_l2(out, ref_packed)
    failures += not err <= 1e-2
    print(f"| packed vs SDPA over each sequence alone | {err:.2e}{'' if err <= 1e-2 else ' FAIL'} |")
    return failures


def speed(lib, total, quick):
    hq, hkv, d = 32, 8, 128
    lens = draw_lengths(total, 128, 4096, seed=1)
    work = 2 * hq * d * sum(L * L for L in lens)
    tf = lambda t, w=work: w / t / 1e12
    tq = sum(lens)
    q = torch.randn(1, hq, tq, d, device="cuda", dtype=torch.bfloat16)
    k = torch.randn(1, hkv, tq, d, device="cuda", dtype=torch.bfloat16)
    v = torch.randn_like(k)
    out = torch.empty_like(q)
    cu_host, cu_dev = prefix(lens, "cpu"), prefix(lens, "cuda")
    print(f"\n## Packed prefill: {len(lens)} sequences, lengths 128..4096 (seed 1), {tq} tokens, causal, "
          f"GQA {hq}/{hkv}, d={d}, bf16\n")
    print("| method | ms | TFLOP/s | attn4j packed / method |\n|---|---|---|---|")
    rows = []
    t_packed = timed(lambda: lib.flash(q, k, v, out, cu_q=cu_host, cu_k=cu_host))
    rows.append(("attn4j packed, host lengths", t_packed, work))
    t = timed(lambda: lib.flash(q, k, v, out, cu_q=cu_dev, cu_k=cu_dev, max_q=max(lens)))
    rows.append(("attn4j packed, device lengths", t, work))
    # The equal-length batch of about the same work: B sequences of 2048 with B * 2048^2 ~ sum(L^2).
    n_eq = 2048
    b_eq = max(1, round(sum(L * L for L in lens) / n_eq ** 2))
    qe = torch.randn(b_eq, hq, n_eq, d, device="cuda", dtype=torch.bfloat16)
    ke = torch.randn(b_eq, hkv, n_eq, d, device="cuda", dtype=torch.bfloat16)
    ve, oe = torch.randn_like(ke), torch.empty_like(qe)
    w_eq = 2 * hq * d * b_eq * n_eq * n_eq
    rows.append((f"attn4j equal lengths ({b_eq} x {n_eq}, no lengths)", timed(lambda: lib.flash(qe, ke, ve, oe)), w_eq))
    # PyTorch: jagged nested tensors (B, j, H, d) -> (B, H, j, d); GQA heads repeated beforehand.
    offs = cu_dev.to(torch.int64)
    as_nested = lambda t: torch.nested.nested_tensor_from_jagged(t[0].transpose(0, 1).contiguous(), offs).transpose(1, 2)
    rep = lambda t: t.repeat_interleave(hq // hkv, 1)
    nq, nk, nv = as_nested(q), as_nested(rep(k)), as_nested(rep(v))
    try:
        t = timed(lambda: F.scaled_dot_product_attention(nq, nk, nv, is_causal=True))
    except RuntimeError as e:
        print(f"(SDPA over nested tensors refused: {e})")
        t = float("nan")
    rows.append(("SDPA, jagged nested tensors", t, work))
    if not quick:
        n = max(lens)
        qp = torch.zeros(len(lens), hq, n, d, device="cuda", dtype=torch.bfloat16)
        kp = torch.zeros(len(lens), hq, n, d, device="cuda", dtype=torch.bfloat16)
        vp = torch.zeros_like(kp)
        starts = cu_host.tolist()
        for b, L in enumerate(lens):
            qp[b, :, :L] = q[0, :, starts[b]:starts[b] + L]
            kp[b, :, :L] = rep(k)[0, :, starts[b]:starts[b] + L]
            vp[b, :, :L] = rep(v)[0, :, starts[b]:starts[b] + L]
        mask = padded_mask(lens, n)
        for backend in (SDPBackend.CUDNN_ATTENTION, SDPBackend.EFFICIENT_ATTENTION):  # (math: the scores alone pass 30 GB)
            try:
                with sdpa_kernel(backend):
                    t = timed(lambda: F.scaled_dot_product_attention(qp, kp, vp, attn_mask=mask), iters=3)
            except RuntimeError:
                t = float("nan")
            rows.append((f"SDPA {backend.name}, padded with the boolean mask", t, work))
    for name, t, w in rows:
        print(f"| {name} | {t * 1e3:.3f} | {tf(t, w):.1f} | {tf(t_packed) / tf(t, w):.2f}x |")


def lightning_speed(lib, total):
    h, d = 32, 128
    lens = draw_lengths(total, 128, 4096, seed=1)
    tq = sum(lens)
    slopes = (ctypes.c_float * h)()
    lib.lib.attn4j_lightning_slopes(h, 0, 1, slopes)
    q = torch.randn(1, h, tq, d, device="cuda", dtype=torch.bfloat16) * 0.3
    k = torch.randn_like(q) * 0.3
    v = torch.randn_like(q)
    out = torch.empty_like(q)
    cu = prefix(lens, "cpu")
    print(f"\n## Lightning, packed: {len(lens)} sequences, lengths 128..4096 (seed 1), {tq} tokens, H {h}, d={d}, bf16\n")
    print("| method | ms | M tokens/s | packed / method |\n|---|---|---|---|")
    t_packed = timed(lambda: lib.lightning(q, k, v, out, slopes, cu))
    n_eq = 2048
    b_eq = tq // n_eq
    qe = torch.randn(b_eq, h, n_eq, d, device="cuda", dtype=torch.bfloat16) * 0.3
    ke, ve, oe = torch.randn_like(qe) * 0.3, torch.randn_like(qe), torch.empty_like(qe)
    t_eq = timed(lambda: lib.lightning(qe, ke, ve, oe, slopes))
    starts = cu.tolist()
    views = [(q[:, :, a:a + L], k[:, :, a:a + L], v[:, :, a:a + L], out[:, :, a:a + L]) for a, L in zip(starts, lens)]

    def one_by_one():
        for x in views:
            lib.lightning(*x, slopes)
    t_each = timed(one_by_one)
    rows = [("attn4j packed", t_packed, tq), (f"attn4j equal lengths ({b_eq} x {n_eq})", t_eq, b_eq * n_eq),
            ("attn4j, one call per sequence", t_each, tq)]
    for name, t, n in rows:
        print(f"| {name} | {t * 1e3:.3f} | {n / t / 1e6:.1f} | {(tq / t_packed) / (n / t):.2f}x |")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    quick = "--quick" in sys.argv
    lib = Attn4j(args[0] if args else "build/lib/libattn4j.so")
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    failures = parity(lib)
    speed(lib, 65536, quick)
    lightning_speed(lib, 65536)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
