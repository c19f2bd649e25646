package org.attn4j;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Coverage-guided fuzzing of the Java API's argument checking: tensors of fuzzed dtypes, shapes,
 * strides and offsets over one small pool of memory (so inputs and outputs may overlap), with fuzzed
 * options, through every kernel family. A call may succeed or throw {@link IllegalArgumentException};
 * any other exception, a hang or a crash is a finding. Runs its corpus with the suite, and fuzzes for a
 * while with {@code JAZZER_FUZZ=1} (ci/test.sh briefly, ci/fuzz.sh longer).
 */
class ArgumentFuzzTest {
    private static final long POOL = 1 << 16;

    @FuzzTest(maxDuration = "30s")
    void everyCallSucceedsOrNamesABadArgument(FuzzedDataProvider data) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pool = arena.allocate(POOL, 64);
            try {
                Tensor q = tensor(data, pool), k = tensor(data, pool), v = tensor(data, pool), out = tensor(data, pool);
                Tensor lse = data.consumeBoolean() ? tensor(data, pool) : null;
                switch (data.consumeInt(0, 3)) {
                    case 0 -> FlashAttention.builder().causal(data.consumeBoolean())
                            .window(data.consumeInt(-2, 40), data.consumeInt(-2, 40))
                            .scale(data.consumeFloat()).softcap(data.consumeFloat()).threads(data.consumeInt(-1, 3)).build()
                            .forward(q, k, v, out, lse);
                    case 1 -> {
                        LightningAttention la = LightningAttention.builder().blockSize(data.consumeInt(-1, 300))
                                .threads(data.consumeInt(-1, 3)).slopes(data.consumeBoolean() ? null : slopes(data)).build();
                        if (data.consumeBoolean()) {
                            la.forward(q, k, v, out, null);
                        } else {
                            try (LightningState s = LightningState.allocate(data.consumeLong(0, 3), data.consumeLong(0, 9),
                                    data.consumeLong(0, 40), data.consumeLong(0, 40))) {
                                la.decode(q, k, v, out, s);
                            }
                        }
                    }
                    default -> {
                        SaleAttention sale = SaleAttention.builder().causal(data.consumeBoolean())
                                .threshold(data.consumeFloat()).blocks(16 * data.consumeInt(-1, 7), 16 * data.consumeInt(-1, 33))
                                .threads(data.consumeInt(-1, 3)).build();
                        SaleMask mask = data.consumeBoolean() ? SaleMask.allocate(arena, q, k, sale.options()) : null;
                        if (data.consumeBoolean()) {
                            sale.forward(q, k, v, out, lse, mask);
                        } else if (mask != null) {
                            sale.blockSparse(q, k, v, out, lse, mask);
                        } else {
                            SaleAttention.calibrate(q, k, v, data.consumeFloat(), sale.options());
                        }
                    }
                }
            } catch (IllegalArgumentException refused) {
                if (refused.getMessage() == null || refused.getMessage().isBlank()) {
                    throw new AssertionError("an IllegalArgumentException without a message", refused);
                }
            }
        }
    }

    private static float[] slopes(FuzzedDataProvider data) {
        float[] s = new float[data.consumeInt(0, 9)];
        for (int i = 0; i < s.length; i++) s[i] = data.consumeFloat();
        return s;
    }

    /** A view of the pool with fuzzed dtype, shape, strides and offset (small enough to run quickly). */
    private static Tensor tensor(FuzzedDataProvider data, MemorySegment pool) {
        DType dtype = DType.values()[data.consumeInt(0, DType.values().length - 1)];
        long[] shape = {data.consumeLong(0, 3), data.consumeLong(0, 9), data.consumeLong(0, 70), data.consumeLong(0, 70)};
        long offset = data.consumeLong(0, POOL) & ~7L;
        MemorySegment at = pool.asSlice(offset);
        if (data.consumeBoolean()) {
            return Tensor.wrap(at, dtype, shape);
        }
        long[] strides = new long[4];
        for (int i = 0; i < 4; i++) strides[i] = data.consumeLong(-1, 5000);
        return Tensor.wrap(at, dtype, shape, strides);
    }
}
