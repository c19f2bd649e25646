package org.attn4j;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * Downcalls that may take Java heap arrays: the C ABI's *_data entry points (each tensor's data
 * pointer as an argument of its own) linked with {@code Linker.Option.critical(true)}, which lets
 * the JVM pass a pinned array's address. Next to the generated bindings, used only when a tensor
 * views a Java array; the kernels neither block on Java nor call back into it.
 */
final class HeapCalls {
    private HeapCalls() {}

    private static final class Handles {
        static final MethodHandle FLASH = link("attn4j_flash_forward_data", 5, 6, false);
        static final MethodHandle LIGHTNING = link("attn4j_lightning_forward_data", 6, 7, false);
        static final MethodHandle SALE = link("attn4j_sale_forward_data", 5, 6, true);
        static final MethodHandle BLOCK_SPARSE = link("attn4j_block_sparse_forward_data", 5, 6, true);
        static final MethodHandle CALIBRATE = linkCalibrate();

        // (q, k, v data, q, k, v descriptors, target_error, params, thresholds_out, num) -> int
        private static MethodHandle linkCalibrate() {
            return Linker.nativeLinker().downcallHandle(symbol("attn4j_sale_calibrate_data"),
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_FLOAT,
                            ADDRESS, ADDRESS, JAVA_INT),
                    Linker.Option.critical(true));
        }

        private static MemorySegment symbol(String name) {
            NativeLibrary.ensureLoaded();
            return SymbolLookup.loaderLookup().find(name)
                    .orElseThrow(() -> new UnsatisfiedLinkError("libattn4j has no " + name));
        }

        // (data pointers..., descriptors and params...[, mask, mask_bytes, density]) -> int
        private static MethodHandle link(String name, int pointers, int addresses, boolean mask) {
            MemorySegment symbol = symbol(name);
            int n = pointers + addresses + (mask ? 3 : 0);
            var args = new java.lang.foreign.MemoryLayout[n];
            for (int i = 0; i < pointers + addresses; i++) args[i] = ADDRESS;
            if (mask) {
                args[n - 3] = ADDRESS;
                args[n - 2] = JAVA_LONG;
                args[n - 1] = ADDRESS;
            }
            return Linker.nativeLinker().downcallHandle(symbol, FunctionDescriptor.of(JAVA_INT, args),
                    Linker.Option.critical(true));
        }
    }

    static int flash(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, MemorySegment[] d, MemorySegment params) {
        try {
            return (int) Handles.FLASH.invokeExact(Native.data(q), Native.data(k), Native.data(v), Native.data(out),
                    Native.data(lse), Native.descriptor(d[0], q), Native.descriptor(d[1], k), Native.descriptor(d[2], v),
                    Native.descriptor(d[3], out), Native.descriptorOrNull(d[4], lse), params);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code state} (may be null) is read and written in place. */
    static int lightning(Tensor q, Tensor k, Tensor v, Tensor out, Tensor state, MemorySegment[] d, MemorySegment params) {
        MemorySegment sd = Native.descriptorOrNull(d[4], state);
        try {
            return (int) Handles.LIGHTNING.invokeExact(Native.data(q), Native.data(k), Native.data(v), Native.data(out),
                    Native.data(state), Native.data(state), Native.descriptor(d[0], q), Native.descriptor(d[1], k),
                    Native.descriptor(d[2], v), Native.descriptor(d[3], out), sd, sd, params);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int sale(boolean blockSparse, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, MemorySegment[] d,
            MemorySegment params, MemorySegment mask, long maskBytes, MemorySegment density) {
        MethodHandle h = blockSparse ? Handles.BLOCK_SPARSE : Handles.SALE;
        try {
            return (int) h.invokeExact(Native.data(q), Native.data(k), Native.data(v), Native.data(out), Native.data(lse),
                    Native.descriptor(d[0], q), Native.descriptor(d[1], k), Native.descriptor(d[2], v),
                    Native.descriptor(d[3], out), Native.descriptorOrNull(d[4], lse), params, mask, maskBytes, density);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int calibrate(Tensor q, Tensor k, Tensor v, float targetError, MemorySegment[] d, MemorySegment params,
            MemorySegment thresholds, int count) {
        try {
            return (int) Handles.CALIBRATE.invokeExact(Native.data(q), Native.data(k), Native.data(v),
                    Native.descriptor(d[0], q), Native.descriptor(d[1], k), Native.descriptor(d[2], v), targetError, params,
                    thresholds, count);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }
}
