package org.attn4j;

/**
 * The checks only Java can make, before a native call: a reference is not null, a tensor's memory is
 * still alive and holds every element its shape and strides reach. Every rule on shapes, dtypes,
 * strides, devices, aliasing and options lives in the C library, which checks it before any kernel runs
 * (its failures become {@link IllegalArgumentException}s in {@link Native#failure}).
 */
final class Checks {
    private Checks() {}

    static void notNull(Object o, String name) {
        if (o == null) {
            throw new IllegalArgumentException(name + " must not be null");
        }
    }

    /** q, k and v are present and usable (shared by every attention kernel). */
    static void qkv(Tensor q, Tensor k, Tensor v) {
        tensor(q, "q");
        tensor(k, "k");
        tensor(v, "v");
    }

    /** Present and usable. */
    static void tensor(Tensor t, String name) {
        notNull(t, name);
        usable(t, name);
    }

    /** Usable, or null (an optional argument). */
    static void optional(Tensor t, String name) {
        if (t != null) {
            usable(t, name);
        }
    }

    /**
     * The segment is still alive and holds every element the strides reach. A segment's memory can only
     * be measured here: the C library sees an address.
     */
    static void usable(Tensor t, String name) {
        if (!t.segment().scope().isAlive()) {
            throw new IllegalArgumentException(name + ": its arena is closed");
        }
        if (t.extentBytes() > t.capacity()) {
            throw new IllegalArgumentException(name + ": shape and strides reach " + t.extentBytes()
                    + " bytes but the memory has " + t.capacity());
        }
    }

    /** 0 <= i < n, else an exception naming the index. */
    static void index(long i, long n, String name) {
        if (i < 0 || i >= n) {
            throw new IllegalArgumentException(name + " = " + i + " is out of range 0.." + (n - 1));
        }
    }
}
