package org.attn4j.jmh;

import java.lang.foreign.Arena;
import java.util.Random;
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
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * FlashAttention through the Java API into a caller-provided output: the Java-side cost of a call
 * (validation, descriptors, downcall) on top of the native kernel. The shape (B=1, H=2, d=128, f32,
 * all threads) matches attn4j_bench's flash/<isa>/f32/d:128/N:<seq>/<mask>/threads:<all> rows, so the
 * two figures compare directly.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class FlashAttentionBenchmark {
    @Param({"16", "512", "4096"})
    public int seq;

    @Param({"false", "true"})
    public boolean causal;

    private Arena arena;
    private Tensor q, k, v, out;
    private FlashAttention attention;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        Random rng = new Random(1);
        q = random(rng, 1, 2, seq, 128);
        k = random(rng, 1, 2, seq, 128);
        v = random(rng, 1, 2, seq, 128);
        out = Tensor.allocate(arena, DType.F32, 1, 2, seq, 128);
        attention = FlashAttention.builder().causal(causal).build();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public Tensor forward() {
        attention.forward(q, k, v, out);
        return out;
    }

    private Tensor random(Random rng, long... shape) {
        Tensor t = Tensor.allocate(arena, DType.F32, shape);
        float[] data = new float[(int) t.elementCount()];
        for (int i = 0; i < data.length; i++) data[i] = (float) rng.nextGaussian();
        t.copyFrom(data);
        return t;
    }
}
