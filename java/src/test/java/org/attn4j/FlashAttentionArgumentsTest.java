package org.attn4j;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every bad-argument class fails in Java with an IllegalArgumentException naming the argument. */
class FlashAttentionArgumentsTest {

    /** A valid call whose pieces a case may replace. */
    static final class Call {
        final Arena arena = Arena.ofConfined();
        Tensor q = Tensor.allocate(arena, DType.F32, 1, 4, 8, 32);
        Tensor k = Tensor.allocate(arena, DType.F32, 1, 2, 8, 32);
        Tensor v = Tensor.allocate(arena, DType.F32, 1, 2, 8, 32);
        Tensor out = Tensor.allocate(arena, DType.F32, 1, 4, 8, 32);
        Tensor lse = Tensor.allocate(arena, DType.F32, 1, 4, 8, 1);

        void run() {
            FlashAttention.builder().build().forward(q, k, v, out, lse);
        }
    }

    static Stream<Arguments> badCalls() {
        return Stream.of(
                bad("q null", c -> c.q = null, "q must not be null"),
                bad("out null", c -> c.out = null, "out must not be null"),
                bad("k batch", c -> c.k = Tensor.allocate(c.arena, DType.F32, 2, 2, 8, 32), "k.shape[0] = 2, expected 1"),
                bad("k head dim", c -> c.k = Tensor.allocate(c.arena, DType.F32, 1, 2, 8, 16), "k.shape[3] = 16"),
                bad("gqa", c -> { c.k = Tensor.allocate(c.arena, DType.F32, 1, 3, 8, 32); c.v = Tensor.allocate(c.arena, DType.F32, 1, 3, 8, 32); },
                        "k.shape[1] = 3 does not divide q.shape[1] = 4"),
                bad("v length", c -> c.v = Tensor.allocate(c.arena, DType.F32, 1, 2, 9, 32), "v.shape[2] = 9"),
                bad("out length", c -> c.out = Tensor.allocate(c.arena, DType.F32, 1, 4, 7, 32), "out.shape[2] = 7"),
                bad("out head dim", c -> c.out = Tensor.allocate(c.arena, DType.F32, 1, 4, 8, 16), "out.shape[3] = 16"),
                bad("dtype mix", c -> c.k = Tensor.allocate(c.arena, DType.BF16, 1, 2, 8, 32), "k.dtype = bf16 differs from q.dtype = f32"),
                bad("f16 on cpu", c -> { c.q = Tensor.allocate(c.arena, DType.F16, 1, 4, 8, 32); }, "q.dtype = f16"),
                bad("head dim 0", c -> { c.q = Tensor.allocate(c.arena, DType.F32, 1, 4, 8, 0); }, "q.shape[3] = 0"),
                bad("head dim 600", c -> { c.q = Tensor.allocate(c.arena, DType.F32, 1, 4, 8, 600); }, "q.shape[3] = 600"),
                bad("lse dtype", c -> c.lse = Tensor.allocate(c.arena, DType.BF16, 1, 4, 8, 1), "lse.dtype = bf16"),
                bad("lse shape", c -> c.lse = Tensor.allocate(c.arena, DType.F32, 1, 4, 8, 2), "lse.shape[3] = 2"),
                bad("out aliases q", c -> c.out = c.q, "out overlaps q"),
                bad("out aliases v", c -> c.out = Tensor.wrap(c.v.segment(), DType.F32, new long[] {1, 2, 8, 32}, new long[] {0, 256, 32, 1}),
                        "out"),
                bad("lse aliases out", c -> c.lse = Tensor.wrap(c.out.segment(), DType.F32, new long[] {1, 4, 8, 1}), "lse overlaps out"),
                bad("out self overlap", c -> c.out = Tensor.wrap(c.out.segment(), DType.F32, new long[] {1, 4, 8, 32}, new long[] {0, 0, 32, 1}),
                        "out.strides[1] = 0"),
                bad("closed arena", c -> {
                    Arena other = Arena.ofConfined();
                    c.v = Tensor.allocate(other, DType.F32, 1, 2, 8, 32);
                    other.close();
                }, "v: its arena is closed"));
    }

    private static Arguments bad(String name, Consumer<Call> corrupt, String message) {
        return Arguments.of(name, corrupt, message);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badCalls")
    void rejectsWithANamedArgument(String name, Consumer<Call> corrupt, String message) {
        Call c = new Call();
        try {
            corrupt.accept(c);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, c::run);
            assertTrue(e.getMessage().contains(message), "message '" + e.getMessage() + "' lacks '" + message + "'");
        } finally {
            c.arena.close();
        }
    }

    @Test
    void optionsAreCheckedWhenBuilt() {
        assertMessage(() -> FlashAttention.builder().window(-2, 0).build(), "windowLeft = -2");
        assertMessage(() -> FlashAttention.builder().window(0, -5).build(), "windowRight = -5");
        assertMessage(() -> FlashAttention.builder().scale(Float.NaN).build(), "scale = NaN");
        assertMessage(() -> FlashAttention.builder().softcap(-1).build(), "softcap = -1.0");
        assertMessage(() -> FlashAttention.builder().threads(-1).build(), "threads = -1");
        assertMessage(() -> FlashAttention.of(null), "options must not be null");
    }

    @Test
    void tensorsAreCheckedWhenMade() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment small = arena.allocate(100, 64);
            assertMessage(() -> Tensor.wrap(small, DType.F32, new long[] {1, 1, 5, 8}), "segment has 100 bytes");
            assertMessage(() -> Tensor.wrap(small, DType.F32, new long[] {1, 1, 2, 2}, new long[] {0, 0, 40, 1}), "reaches 168");
            assertMessage(() -> Tensor.wrap(small.asSlice(1), DType.F32, new long[] {1, 1, 1, 4}), "not aligned");
            assertMessage(() -> Tensor.wrap(MemorySegment.ofArray(new float[16]), DType.F32, new long[] {1, 1, 4, 4}), "heap segment");
            assertMessage(() -> Tensor.wrap(ByteBuffer.allocate(64), DType.F32, 1, 1, 4, 4), "not direct");
            assertMessage(() -> Tensor.allocate(arena, DType.F32, 1, 2, 3), "shape must be [batch, heads, seq, head_dim]");
            assertMessage(() -> Tensor.allocate(arena, DType.F32, 1, -2, 3, 4), "shape[1] = -2 is negative");
            assertMessage(() -> Tensor.wrap(small, DType.F32, new long[] {1, 1, 1, 1}, new long[] {0, 0, -1, 1}), "strides[2] = -1");
            assertMessage(() -> Tensor.of(arena, new float[3], 1, 1, 2, 2), "data has 3 elements");
            assertMessage(() -> Tensor.allocate(null, DType.F32, 1, 1, 1, 1), "arena must not be null");
            assertMessage(() -> Device.cuda(-1), "n = -1");
        }
    }

    @Test
    void sizesPastALongAreNamedNotOverflowed() {
        try (Arena arena = Arena.ofConfined()) {
            assertMessage(() -> Tensor.allocate(arena, DType.F32, 1, 1, 1, 1L << 62), "needs more than 2^63 bytes");
            MemorySegment seg = arena.allocate(64, 64);
            assertMessage(() -> Tensor.wrap(seg, DType.F32, new long[] {3, 1, 1, 1}, new long[] {1L << 62, 1, 1, 1}),
                    "reaches past 2^63 bytes");
            assertMessage(() -> SaleMask.allocate(arena, 1L << 40, 1L << 40, 64, 64, 64, 64), "needs more than 2^63 bytes");
            assertMessage(() -> Tensor.allocate(arena, DType.F32, 1L << 40, 1L << 40, 1L << 40, 1), "more elements than a long");
        }
    }

    @Test
    void anEmptyTensorHasNoNegativeStrides() {
        long big = 1L << 40;
        for (long s : Tensor.contiguousStrides(0, big, big, big)) {
            assertTrue(s >= 0, "stride " + s);
        }
        try (Arena arena = Arena.ofConfined()) {
            Tensor empty = Tensor.allocate(arena, DType.F32, 0, big, big, big);
            for (long s : empty.strides()) assertTrue(s >= 0, "stride " + s);
            assertTrue(empty.elementCount() == 0);
        }
    }

    @Test
    void anUnsupportedIsaIsRefused() {
        if (Attn4j.bestCpuIsa() != Attn4j.Isa.AVX512) {
            assertMessage(() -> Attn4j.setCpuIsa(Attn4j.Isa.AVX512), "isa = AVX512 is not supported here");
        }
        assertMessage(() -> Attn4j.setCpuIsa(null), "isa must not be null");
    }

    private static void assertMessage(Runnable r, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().contains(message), "message '" + e.getMessage() + "' lacks '" + message + "'");
    }
}
