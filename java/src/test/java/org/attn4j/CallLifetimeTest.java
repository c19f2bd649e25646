package org.attn4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Memory a native call reads or writes stays alive and owned for the whole call: unreferenced
 * {@code Arena.ofAuto()} segments and direct buffers survive a garbage collector running beside the
 * call, closing an arena or a state during a call throws instead of freeing, and a confined segment
 * cannot be used from another thread.
 */
class CallLifetimeTest {
    private static final int CALLS = 24;

    /** A thread that asks for a collection every 2 ms until closed. */
    private static final class GcLoop implements AutoCloseable {
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final Thread thread = Thread.ofPlatform().daemon().start(() -> {
            while (running.get()) {
                System.gc();
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });

        @Override
        public void close() throws InterruptedException {
            running.set(false);
            thread.join();
        }
    }

    /** Ones in memory nothing else references once the tensor is dropped. */
    private static Tensor autoOnes(long... shape) {
        Tensor t = Tensor.allocate(Arena.ofAuto(), DType.F32, shape);
        t.fill(1f);
        return t;
    }

    private static Tensor directOnes(long... shape) {
        ByteBuffer b = ByteBuffer.allocateDirect((int) (Tensor.elementCount(shape) * 4)).order(ByteOrder.nativeOrder());
        Tensor t = Tensor.wrap(b, DType.F32, shape);
        t.fill(1f);
        return t;
    }

    private static Tensor autoOut(long... shape) {
        return Tensor.allocate(Arena.ofAuto(), DType.F32, shape);
    }

    /** Every element of every call's output is {@code expected}; outputs are only read after each call. */
    private static void everyCallGives(float expected, Supplier<Tensor> call) throws Exception {
        try (GcLoop gc = new GcLoop()) {
            for (int i = 0; i < CALLS; i++) {
                Tensor out = call.get();
                float[] got = out.toFloatArray();
                for (int e = 0; e < got.length; e++) {
                    if (Math.abs(got[e] - expected) > 1e-4f * Math.max(1f, Math.abs(expected))) {
                        throw new AssertionError("call " + i + ": element " + e + " = " + got[e] + ", expected " + expected);
                    }
                }
            }
        }
    }

    // Softmax attention over values that are all 1 gives 1 whatever q and k hold.
    @Test
    void flashInputsAndOutputsSurviveTheCollector() throws Exception {
        FlashAttention fa = FlashAttention.builder().threads(1).build();
        everyCallGives(1f, () -> {
            Tensor out = autoOut(1, 4, 512, 64);
            fa.forward(autoOnes(1, 4, 512, 64), directOnes(1, 4, 2048, 64), autoOnes(1, 4, 2048, 64), out);
            return out;
        });
    }

    @Test
    void sequenceLengthsSurviveTheCollector() throws Exception {
        FlashAttention fa = FlashAttention.builder().threads(1).build();
        everyCallGives(1f, () -> {
            Tensor out = autoOut(1, 4, 1500, 64);
            fa.forward(autoOnes(1, 4, 1500, 64), autoOnes(1, 4, 1500, 64), autoOnes(1, 4, 1500, 64), out, null,
                    SequenceLengths.packedLengths(700, 1, 799));
            return out;
        });
    }

    @Test
    void saleInputsOutputsAndMaskSurviveTheCollector() throws Exception {
        SaleAttention sale = SaleAttention.builder().causal(true).threads(1).build();
        everyCallGives(1f, () -> {
            Tensor q = autoOnes(1, 2, 1024, 64), out = autoOut(1, 2, 1024, 64);
            sale.forward(q, directOnes(1, 2, 1024, 64), autoOnes(1, 2, 1024, 64), out, null,
                    SaleMask.allocate(Arena.ofAuto(), q, q, sale.options()));
            return out;
        });
    }

    // Without decay, q = k = v = ones of dim d: o_i = sum_{j <= i} d * 1, so the last row holds d * N.
    @Test
    void lightningInputsOutputsAndStateSurviveTheCollector() throws Exception {
        LightningAttention la = LightningAttention.builder().threads(1).build();
        long n = 1024, d = 16;
        everyCallGives(d * n, () -> {
            Tensor out = autoOut(1, 2, n, d);
            try (LightningState state = LightningState.allocate(1, 2, d, d)) {
                la.forward(autoOnes(1, 2, n, d), directOnes(1, 2, n, d), autoOnes(1, 2, n, d), out, state);
            }
            Tensor last = autoOut(1, 2, 1, d);
            for (long h = 0; h < 2; h++) for (long e = 0; e < d; e++) last.set(0, h, 0, e, out.get(0, h, n - 1, e));
            return last;
        });
    }

    /**
     * Runs {@code call} on another thread and tries {@code close} on this one until it succeeds or the
     * call returns: some attempt during the call must throw {@link IllegalStateException} (the memory is
     * in use), and the call must complete normally. Returns whether an attempt closed it (only possible
     * once the native call has released the memory).
     */
    private static boolean closeDuringCallThrows(Runnable call, Runnable close) throws Exception {
        call.run();  // once before: class loading and compilation would otherwise delay the native call
        AtomicBoolean started = new AtomicBoolean();
        CompletableFuture<Void> running = CompletableFuture.runAsync(() -> {
            started.set(true);
            call.run();
        });
        while (!started.get()) Thread.onSpinWait();
        Thread.sleep(20);  // into the native call
        int refused = 0;
        boolean closed = false;
        while (!closed && !running.isDone()) {
            try {
                close.run();
                closed = true;
            } catch (IllegalStateException e) {
                refused++;
            }
        }
        running.get();  // the call itself completed normally
        assertTrue(refused > 0, "no close attempt was refused during the call");
        return closed;
    }

    private static final long LONG_N = 4096;

    @Test
    void closingASharedArenaDuringACallThrows() throws Exception {
        Arena arena = Arena.ofShared();
        Tensor q = Tensor.allocate(arena, DType.F32, 1, 8, LONG_N, 64);
        q.fill(1f);
        Tensor out = Tensor.allocate(arena, DType.F32, 1, 8, LONG_N, 64);
        FlashAttention fa = FlashAttention.builder().threads(1).build();
        if (!closeDuringCallThrows(() -> fa.forward(q, q, q, out), arena::close)) {
            assertEquals(1f, out.get(0, 7, LONG_N - 1, 63), 1e-5f);
            arena.close();  // free once the call is over
        }
        assertTrue(!arena.scope().isAlive());
    }

    @Test
    void closingALightningStateDuringACallThrows() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            long n = 1 << 16;
            Tensor x = Tensor.allocate(arena, DType.F32, 1, 8, n, 64);
            Tensor out = Tensor.allocate(arena, DType.F32, 1, 8, n, 64);
            LightningAttention la = LightningAttention.builder().threads(1).build();
            LightningState state = LightningState.allocate(1, 8, 64, 64);
            closeDuringCallThrows(() -> la.forward(x, x, x, out, state), state::close);
            state.close();
            assertTrue(state.isClosed());
        }
    }

    @Test
    void closingASaleMaskDuringACallThrows() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            Tensor q = Tensor.allocate(arena, DType.F32, 1, 8, LONG_N, 64);
            Tensor out = Tensor.allocate(arena, DType.F32, 1, 8, LONG_N, 64);
            SaleAttention sale = SaleAttention.builder().threshold(0f).threads(1).build();
            Arena maskArena = Arena.ofShared();
            SaleMask mask = SaleMask.allocate(maskArena, q, q, sale.options());
            if (!closeDuringCallThrows(() -> sale.forward(q, q, q, out, null, mask), maskArena::close)) {
                maskArena.close();
            }
        }
    }

    @Test
    void aConfinedTensorFromAnotherThreadIsRefused() throws Exception {
        try (Arena owner = Arena.ofConfined()) {
            Tensor q = Tensor.allocate(owner, DType.F32, 1, 1, 64, 16);
            Tensor out = Tensor.allocate(owner, DType.F32, 1, 1, 64, 16);
            FlashAttention fa = FlashAttention.builder().build();
            out.fill(Float.NaN);
            Throwable thrown = CompletableFuture.supplyAsync(() -> {
                try {
                    fa.forward(q, q, q, out);
                    return null;
                } catch (Throwable t) {
                    return t;
                }
            }).get();
            assertTrue(thrown instanceof WrongThreadException, "got " + thrown);
            assertTrue(Float.isNaN(out.get(0, 0, 0, 0)), "nothing ran");
            fa.forward(q, q, q, out);  // the owner may
            assertEquals(0f, out.get(0, 0, 0, 0));
        }
    }

    @Test
    void aClosedArenaIsRefusedBeforeTheCall() {
        Arena arena = Arena.ofConfined();
        Tensor q = Tensor.allocate(arena, DType.F32, 1, 1, 8, 8);
        arena.close();
        try (Arena live = Arena.ofConfined()) {
            Tensor out = Tensor.allocate(live, DType.F32, 1, 1, 8, 8);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> FlashAttention.builder().build().forward(q, q, q, out));
            assertTrue(e.getMessage().startsWith("q"), e.getMessage());
        }
    }
}
