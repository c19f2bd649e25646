package org.attn4j.jmh;

import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;
import org.attn4j.DType;
import org.attn4j.LightningAttention;
import org.attn4j.SaleAttention;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * Lightning Attention-2 and SALE through the Java API into caller-provided outputs, small and large,
 * on the shapes of attn4j_bench's lightning (B=1, H=8, d=128) and sale (B=1, H=1, d=128, mixed
 * structured inputs, seed 7, causal) rows, so the figures compare with the native ones.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class KernelCallBenchmark {
    @Param({"64", "16384"})
    public int seq;

    private Arena arena;
    private Tensor lq, lk, lv, lout, sq, sk, sv, sout;
    private LightningAttention lightning;
    private SaleAttention sale;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        lq = Tensor.allocate(arena, DType.F32, 1, 8, seq, 128);
        lk = Tensor.allocate(arena, DType.F32, 1, 8, seq, 128);
        lv = Tensor.allocate(arena, DType.F32, 1, 8, seq, 128);
        lout = Tensor.allocate(arena, DType.F32, 1, 8, seq, 128);
        StructuredInputs.fill(StructuredInputs.Pattern.RANDOM, 3, lq, lk, lv);
        lightning = LightningAttention.builder().slopes(LightningAttention.transNormerSlopes(8, 0, 1)).build();
        sq = Tensor.allocate(arena, DType.F32, 1, 1, seq, 128);
        sk = Tensor.allocate(arena, DType.F32, 1, 1, seq, 128);
        sv = Tensor.allocate(arena, DType.F32, 1, 1, seq, 128);
        sout = Tensor.allocate(arena, DType.F32, 1, 1, seq, 128);
        StructuredInputs.fill(StructuredInputs.Pattern.MIXED, 7, sq, sk, sv);
        sale = SaleAttention.builder().causal(true).threshold(0.01f).build();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public Tensor lightning() {
        lightning.forward(lq, lk, lv, lout, null);
        return lout;
    }

    @Benchmark
    public Tensor sale() {
        sale.forward(sq, sk, sv, sout);
        return sout;
    }
}
