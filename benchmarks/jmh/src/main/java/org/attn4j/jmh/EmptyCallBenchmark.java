package org.attn4j.jmh;

import java.util.concurrent.TimeUnit;
import org.attn4j.NativeLibrary;
import org.attn4j.bindings.Attn4jNative;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** The bare cost of one FFM downcall into libattn4j (a function that returns a constant). */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class EmptyCallBenchmark {
    @Setup
    public void load() {
        NativeLibrary.ensureLoaded();
    }

    @Benchmark
    public int emptyCall() {
        return Attn4jNative.attn4j_version_number();
    }
}
