package org.attn4j.jmh;

import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;
import org.attn4j.DType;
import org.attn4j.FlashAttention;
import org.attn4j.reference.StructuredInputs;
import org.attn4j.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Calls per second when 1, 2 or many Java threads call FlashAttention at once (each with its own
 * tensors, every call asking for all cores): the shared worker pool should turn more callers into
 * the same total throughput, not into oversubscription. Small calls (seq 256) show the per-call
 * costs, large ones (seq 2048) the kernel. B=1, H=2, d=64, causal, f32.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class ThroughputBenchmark {
    @Param({"256", "2048"})
    public int seq;

    private Arena arena;
    private Tensor q, k, v, out;
    private final FlashAttention attention = FlashAttention.builder().causal(true).build();

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        q = Tensor.allocate(arena, DType.F32, 1, 2, seq, 64);
        k = Tensor.allocate(arena, DType.F32, 1, 2, seq, 64);
        v = Tensor.allocate(arena, DType.F32, 1, 2, seq, 64);
        out = Tensor.allocate(arena, DType.F32, 1, 2, seq, 64);
        StructuredInputs.fill(StructuredInputs.Pattern.RANDOM, 5, q, k, v);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    @Threads(1)
    public Tensor oneCaller() {
        attention.forward(q, k, v, out);
        return out;
    }

    @Benchmark
    @Threads(2)
    public Tensor twoCallers() {
        attention.forward(q, k, v, out);
        return out;
    }

    @Benchmark
    @Threads(8)
    public Tensor eightCallers() {
        attention.forward(q, k, v, out);
        return out;
    }
}
