package org.attn4j;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * Argument checks shared by the kernel classes; each throws {@link IllegalArgumentException} naming
 * the argument, before any native call.
 */
final class Checks {
    private Checks() {}

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
        if (t.extentBytes() > t.segment().byteSize()) {
            throw new IllegalArgumentException(name + ": shape and strides reach " + t.extentBytes()
                    + " bytes but the segment has " + t.segment().byteSize());
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
        long[] shape = t.shape(), strides = t.strides();
        Integer[] order = IntStream.range(0, 4).boxed().sorted(Comparator.comparingLong(i -> strides[i])).toArray(Integer[]::new);
        long reach = 0;
        for (int i : order) {
            if (shape[i] <= 1) {
                continue;
            }
            if (strides[i] <= reach) {
                throw new IllegalArgumentException(name + ".strides[" + i + "] = " + strides[i]
                        + " makes elements overlap (strides " + Arrays.toString(strides) + ")");
            }
            reach += (shape[i] - 1) * strides[i];
        }
    }

    /** An output's bytes do not intersect another tensor's. */
    static void disjoint(Tensor out, String outName, Tensor in, String inName) {
        long ob = out.extentBytes(), ib = in.extentBytes();
        if (ob == 0 || ib == 0 || !out.device().equals(in.device())) {
            return;
        }
        long a0 = out.segment().address(), b0 = in.segment().address();
        if (a0 < b0 + ib && b0 < a0 + ob) {
            throw new IllegalArgumentException(outName + " overlaps " + inName + " in memory");
        }
    }
}
