package org.attn4j;

import java.util.Arrays;

/**
 * Argument checks shared by the kernel classes; each throws {@link IllegalArgumentException} naming
 * the argument, before any native call.
 */
final class Checks {
    private Checks() {}

    /**
     * q [B, Hq, Nq, d], k [B, Hkv, Nk, d], v [B, Hkv, Nk, dv]: usable, one storage dtype, one device,
     * head dims in range, Hq a multiple of Hkv. Shared by every attention kernel.
     */
    static void qkv(Tensor q, Tensor k, Tensor v) {
        notNull(q, "q");
        notNull(k, "k");
        notNull(v, "v");
        usable(q, "q");
        usable(k, "k");
        usable(v, "v");
        cpuDtype(q, "q");
        sameDtype(k, "k", q, "q");
        sameDtype(v, "v", q, "q");
        sameDevice(k, "k", q, "q");
        sameDevice(v, "v", q, "q");
        headDim(q, "q");
        headDim(v, "v");
        dim(k, "k", 0, q.shape(0), "batch of q");
        dim(k, "k", 3, q.shape(3), "head dim of q");
        dim(v, "v", 0, q.shape(0), "batch of q");
        dim(v, "v", 1, k.shape(1), "heads of k");
        dim(v, "v", 2, k.shape(2), "sequence length of k");
        long hq = q.shape(1), hkv = k.shape(1);
        if (hkv == 0 ? hq != 0 : hq % hkv != 0) {
            throw new IllegalArgumentException("k.shape[1] = " + hkv + " does not divide q.shape[1] = " + hq
                    + " (query heads must be a multiple of key/value heads)");
        }
    }

    /**
     * An output of shape [d0, d1, d2, d3] next to q, k, v (dims 0 and 1 are q's batch and heads; {@code what2}
     * and {@code what3} describe dims 2 and 3 in messages): usable, no overlapping elements, no aliasing.
     */
    static void output(Tensor t, String name, Tensor q, Tensor k, Tensor v, long d0, long d1, long d2, String what2,
            long d3, String what3) {
        notNull(t, name);
        usable(t, name);
        cpuDtype(t, name);
        sameDevice(t, name, q, "q");
        dim(t, name, 0, d0, "batch of q");
        dim(t, name, 1, d1, "heads of q");
        dim(t, name, 2, d2, what2);
        dim(t, name, 3, d3, what3);
        noSelfOverlap(t, name);
        disjoint(t, name, q, "q");
        disjoint(t, name, k, "k");
        disjoint(t, name, v, "v");
    }

    static void notNull(Object o, String name) {
        if (o == null) {
            throw new IllegalArgumentException(name + " must not be null");
        }
    }

    /** The segment is still alive and (still) holds every element the strides reach. */
    static void usable(Tensor t, String name) {
        if (!t.segment().scope().isAlive()) {
            throw new IllegalArgumentException(name + ": its arena is closed");
        }
        if (t.extentBytes() > t.capacity()) {
            throw new IllegalArgumentException(name + ": shape and strides reach " + t.extentBytes()
                    + " bytes but the memory has " + t.capacity());
        }
    }

    static void cpuDtype(Tensor t, String name) {
        if (t.device().isCpu() && t.dtype() == DType.F16) {
            throw new IllegalArgumentException(name + ".dtype = F16 is supported on CUDA devices only; use F32 or BF16");
        }
    }

    static void sameDtype(Tensor a, String an, Tensor b, String bn) {
        if (a.dtype() != b.dtype()) {
            throw new IllegalArgumentException(an + ".dtype = " + a.dtype() + " differs from " + bn + ".dtype = " + b.dtype());
        }
    }

    static void sameDevice(Tensor a, String an, Tensor b, String bn) {
        if (!a.device().equals(b.device())) {
            throw new IllegalArgumentException(an + " is on " + a.device() + " but " + bn + " is on " + b.device());
        }
    }

    static void headDim(Tensor t, String name) {
        long d = t.shape(3);
        if (d < 1 || d > 512) {
            throw new IllegalArgumentException(name + ".shape[3] = " + d + ": head dim must be in 1..512");
        }
    }

    static void dim(Tensor t, String name, int dim, long expected, String what) {
        if (t.shape(dim) != expected) {
            throw new IllegalArgumentException(name + ".shape[" + dim + "] = " + t.shape(dim) + ", expected "
                    + expected + " (" + what + ")");
        }
    }

    /** No two elements of an output share memory (a sufficient condition on sorted strides). */
    static void noSelfOverlap(Tensor t, String name) {
        if (t.elementCount() == 0) {
            return;
        }
        // The four dims by increasing stride, without allocating (this runs on every call).
        int a = 0, b = 1, c = 2, d = 3, x;
        if (t.stride(a) > t.stride(b)) { x = a; a = b; b = x; }
        if (t.stride(c) > t.stride(d)) { x = c; c = d; d = x; }
        if (t.stride(a) > t.stride(c)) { x = a; a = c; c = x; }
        if (t.stride(b) > t.stride(d)) { x = b; b = d; d = x; }
        if (t.stride(b) > t.stride(c)) { x = b; b = c; c = x; }
        long reach = 0;
        for (int k = 0; k < 4; k++) {
            int i = k == 0 ? a : k == 1 ? b : k == 2 ? c : d;
            if (t.shape(i) <= 1) {
                continue;
            }
            if (t.stride(i) <= reach) {
                throw new IllegalArgumentException(name + ".strides[" + i + "] = " + t.stride(i)
                        + " makes elements overlap (strides " + Arrays.toString(t.strides()) + ")");
            }
            reach += (t.shape(i) - 1) * t.stride(i);
        }
    }

    /** An output's bytes do not intersect another tensor's. */
    static void disjoint(Tensor out, String outName, Tensor in, String inName) {
        long ob = out.extentBytes(), ib = in.extentBytes();
        if (ob == 0 || ib == 0 || !out.device().equals(in.device())) {
            return;
        }
        if (out.isHeap() || in.isHeap()) {
            // Heap segments' addresses are offsets into their arrays: only the same array can overlap.
            if (out.isHeap() != in.isHeap() || out.segment().heapBase().get() != in.segment().heapBase().get()) {
                return;
            }
        }
        long a0 = out.segment().address(), b0 = in.segment().address();
        if (a0 < b0 + ib && b0 < a0 + ob) {
            throw new IllegalArgumentException(outName + " overlaps " + inName + " in memory");
        }
    }

    /** 0 <= i < n, else an exception naming the index. */
    static void index(long i, long n, String name) {
        if (i < 0 || i >= n) {
            throw new IllegalArgumentException(name + " = " + i + " is out of range 0.." + (n - 1));
        }
    }
}
