package org.attn4j;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.attn4j.bindings.Attn4jNative;
import org.attn4j.bindings.attn4j_flash_params;
import org.attn4j.bindings.attn4j_lightning_params;
import org.attn4j.bindings.attn4j_sale_params;
import org.attn4j.bindings.attn4j_tensor;

/** Glue between the API classes and the generated bindings: descriptors and status checks. */
final class Native {
    private Native() {}

    /** Throws {@link Attn4jException} with the native message when a call did not return OK. */
    static void check(int status) {
        if (status != Attn4jNative.ATTN4J_STATUS_OK()) {
            String message = Attn4jNative.attn4j_last_error().getString(0);
            String name = Attn4jNative.attn4j_status_name(status).getString(0);
            throw new Attn4jException(status, name, message);
        }
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
            density = arena.allocate(8, 8);
        }

        static CallScratch get() {
            return CURRENT.get();
        }
    }

    /**
     * Writes a tensor descriptor for {@code t} into {@code d} (one of {@link CallScratch#tensors}). A Java
     * array's address cannot be stored in a struct: its descriptor gets NULL, and the call passes the
     * array itself to the *_data entry point ({@link HeapCalls}).
     */
    static MemorySegment descriptorOrNull(MemorySegment d, Tensor t) {
        return t == null ? MemorySegment.NULL : descriptor(d, t);
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

    static MemorySegment descriptor(MemorySegment d, Tensor t) {
        attn4j_tensor.data(d, t.isHeap() ? MemorySegment.NULL : t.segment());
        attn4j_tensor.dtype(d, t.dtype().code());
        attn4j_tensor.device(d, t.device().ordinal());
        for (int i = 0; i < 4; i++) {
            attn4j_tensor.shape(d, i, t.shape(i));
            attn4j_tensor.strides(d, i, t.stride(i));
        }
        return d;
    }
}
