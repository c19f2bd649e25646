package org.attn4j;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.attn4j.bindings.Attn4jNative;
import org.attn4j.bindings.attn4j_flash_params;
import org.attn4j.bindings.attn4j_lightning_params;
import org.attn4j.bindings.attn4j_sale_params;
import org.attn4j.bindings.attn4j_tensor;

/**
 * Glue between the API classes and the generated bindings: descriptors, status checks.
 *
 * <p>Every kernel call goes through a C {@code *_data} entry point, which takes each tensor's memory as
 * a downcall argument of its own rather than as an address inside a descriptor. The FFM linker keeps an
 * argument segment's session acquired until the call returns, so for the whole call: an
 * {@code Arena.ofAuto()} segment or a direct buffer cannot be collected, {@code close()} of a shared
 * arena throws instead of freeing, and a confined segment used from a foreign thread throws
 * {@link WrongThreadException} before anything runs.
 */
final class Native {
    private Native() {}

    /** Throws when a call did not return OK: see {@link #failure(int)}. */
    static void check(int status) {
        if (status != Attn4jNative.ATTN4J_STATUS_OK()) {
            throw failure(status);
        }
    }

    /**
     * The C library checks every shape, dtype, stride, device and option rule before any kernel runs;
     * its {@code INVALID_*}, {@code NULL_ARGUMENT}, {@code ALIASING} and {@code UNSUPPORTED} statuses are
     * bad arguments ({@link IllegalArgumentException} with the message naming the argument), anything else
     * an {@link Attn4jException}.
     */
    static RuntimeException failure(int status) {
        String message = Attn4jNative.attn4j_last_error().getString(0);
        if (status >= Attn4jNative.ATTN4J_STATUS_NULL_ARGUMENT() && status <= Attn4jNative.ATTN4J_STATUS_UNSUPPORTED()) {
            return new IllegalArgumentException(message);
        }
        return new Attn4jException(status, Attn4jNative.attn4j_status_name(status).getString(0), message);
    }

    /**
     * Per-thread native memory for the descriptors and params of one call, so a call with
     * caller-provided outputs allocates nothing, on the Java heap or off it. Freed with its thread.
     */
    static final class CallScratch {
        private static final ThreadLocal<CallScratch> CURRENT = ThreadLocal.withInitial(CallScratch::new);

        final MemorySegment[] tensors = new MemorySegment[6];
        final MemorySegment flashParams;
        final MemorySegment lightningParams;
        final MemorySegment saleParams;
        final MemorySegment density;  // a double the SALE calls write

        private CallScratch() {
            Arena arena = Arena.ofAuto();
            for (int i = 0; i < tensors.length; i++) {
                tensors[i] = attn4j_tensor.allocate(arena);
            }
            flashParams = attn4j_flash_params.allocate(arena);
            lightningParams = attn4j_lightning_params.allocate(arena);
            saleParams = attn4j_sale_params.allocate(arena);
            // Written once: every call sets all the other fields.
            attn4j_flash_params.size(flashParams, (int) attn4j_flash_params.sizeof());
            attn4j_lightning_params.size(lightningParams, (int) attn4j_lightning_params.sizeof());
            attn4j_sale_params.size(saleParams, (int) attn4j_sale_params.sizeof());
            density = arena.allocate(8, 8);
        }

        static CallScratch get() {
            return CURRENT.get();
        }
    }

    /** Whether any of the tensors (nulls ignored) views a Java array. Fixed arity: no varargs array per call. */
    static boolean anyHeap(Tensor a, Tensor b, Tensor c, Tensor d, Tensor e) {
        return heap(a) || heap(b) || heap(c) || heap(d) || heap(e);
    }

    private static boolean heap(Tensor t) {
        return t != null && t.isHeap();
    }

    /** A tensor's memory as a call argument, or NULL. */
    static MemorySegment data(Tensor t) {
        return t == null ? MemorySegment.NULL : t.segment();
    }

    /** A descriptor for {@code t} in {@code d}, or NULL for a null tensor. */
    static MemorySegment descriptorOrNull(MemorySegment d, Tensor t) {
        return t == null ? MemorySegment.NULL : descriptor(d, t);
    }

    /**
     * Writes a tensor descriptor for {@code t} into {@code d} (one of {@link CallScratch#tensors}). Its data
     * field stays NULL: the memory travels as its own call argument (see the class comment).
     */
    static MemorySegment descriptor(MemorySegment d, Tensor t) {
        attn4j_tensor.data(d, MemorySegment.NULL);
        attn4j_tensor.dtype(d, t.dtype().code());
        attn4j_tensor.device(d, t.device().ordinal());
        for (int i = 0; i < 4; i++) {
            attn4j_tensor.shape(d, i, t.shape(i));
            attn4j_tensor.strides(d, i, t.stride(i));
        }
        return d;
    }
}
