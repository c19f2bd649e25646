package org.attn4j.jmh;

import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;
import org.attn4j.DType;
import org.attn4j.FlashAttention;
import org.attn4j.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A FlashAttention call with nothing to compute (zero query rows): every Java check, the descriptors
 * and params, the downcall and the native checks, and no kernel. The fixed cost a kernel call pays.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class ValidationCallBenchmark {
    private Arena arena;
    private Tensor q, k, v, out;
    private final FlashAttention attention = FlashAttention.builder().causal(true).build();

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        q = Tensor.allocate(arena, DType.F32, 1, 8, 0, 128);
        k = Tensor.allocate(arena, DType.F32, 1, 8, 64, 128);
        v = Tensor.allocate(arena, DType.F32, 1, 8, 64, 128);
        out = Tensor.allocate(arena, DType.F32, 1, 8, 0, 128);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public Tensor validationOnly() {
        attention.forward(q, k, v, out);
        return out;
    }
}
