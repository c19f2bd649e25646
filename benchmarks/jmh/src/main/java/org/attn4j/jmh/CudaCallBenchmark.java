package org.attn4j.jmh;

import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;
import org.attn4j.Attn4j;
import org.attn4j.DType;
import org.attn4j.Device;
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
 * The cost of a FlashAttention call on CUDA device tensors from Java: checks, descriptors, the
 * downcall and the (asynchronous) kernel launch, synchronizing every 64 calls so the launch queue
 * stays short. attn4j_bench's flash_cuda_launch row times the same launches from C++; the difference
 * is the Java side. B=1, H=1, N=64, d=64, bf16 (a tiny kernel: launch-bound). Needs a GPU.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class CudaCallBenchmark {
    private Arena arena;
    private Tensor q, k, v, out;
    private final FlashAttention attention = FlashAttention.builder().build();
    private int calls;

    @Setup(Level.Trial)
    public void setUp() {
        if (Attn4j.cudaDeviceCount() == 0) {
            throw new IllegalStateException("CudaCallBenchmark needs a CUDA device");
        }
        arena = Arena.ofShared();
        Device gpu = Device.cuda(0);
        q = Tensor.allocate(arena, DType.BF16, gpu, 1, 1, 64, 64);
        k = Tensor.allocate(arena, DType.BF16, gpu, 1, 1, 64, 64);
        v = Tensor.allocate(arena, DType.BF16, gpu, 1, 1, 64, 64);
        out = Tensor.allocate(arena, DType.BF16, gpu, 1, 1, 64, 64);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        Attn4j.synchronize(Device.cuda(0));
        arena.close();
    }

    @Benchmark
    public Tensor launch() {
        attention.forward(q, k, v, out);
        if (++calls % 64 == 0) {
            Attn4j.synchronize(Device.cuda(0));
        }
        return out;
    }
}
