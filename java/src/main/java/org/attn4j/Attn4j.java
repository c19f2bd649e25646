package org.attn4j;

import org.attn4j.bindings.Attn4jNative;

/**
 * Library-wide facts and switches: version, the CPU instruction set in use, threads, CUDA.
 *
 * <pre>{@code
 * System.out.println("attn4j " + Attn4j.version() + " on " + Attn4j.cpuIsa());
 * }</pre>
 */
public final class Attn4j {
    /** CPU instruction sets, lowest first; the names match the native library's. */
    public enum Isa {
        SCALAR, AVX2, AVX512
    }

    private Attn4j() {}

    /** Native library version, e.g. "0.2.0". */
    public static String version() {
        NativeLibrary.ensureLoaded();
        return Attn4jNative.attn4j_version().getString(0);
    }

    /** The instruction set the CPU kernels use now. */
    public static Isa cpuIsa() {
        NativeLibrary.ensureLoaded();
        return Isa.values()[Attn4jNative.attn4j_cpu_isa()];
    }

    /** The best instruction set this CPU and build support. */
    public static Isa bestCpuIsa() {
        NativeLibrary.ensureLoaded();
        return Isa.values()[Attn4jNative.attn4j_cpu_isa_best()];
    }

    /** Forces CPU kernels of a lower instruction set (tests, comparisons); process-wide. */
    public static void setCpuIsa(Isa isa) {
        if (isa == null) {
            throw new IllegalArgumentException("isa must not be null");
        }
        if (isa.ordinal() > bestCpuIsa().ordinal()) {
            throw new IllegalArgumentException("isa = " + isa + " is not supported here (best: " + bestCpuIsa() + ")");
        }
        Native.check(Attn4jNative.attn4j_set_cpu_isa(isa.ordinal()));
    }

    /** Threads a kernel uses by default (ATTN4J_NUM_THREADS, else all cores). */
    public static int defaultThreads() {
        NativeLibrary.ensureLoaded();
        return Attn4jNative.attn4j_default_threads();
    }

    /** Whether this build has CUDA support. */
    public static boolean cudaAvailable() {
        NativeLibrary.ensureLoaded();
        return Attn4jNative.attn4j_cuda_available() != 0;
    }

    /** Waits for every kernel queued on a CUDA device (results are then visible to copies). */
    public static void synchronize(Device device) {
        if (device == null || device.isCpu()) {
            throw new IllegalArgumentException("device must be a CUDA device, got " + device);
        }
        NativeLibrary.ensureLoaded();
        Native.check(Attn4jNative.attn4j_cuda_synchronize(device.ordinal()));
    }

    /** CUDA devices the driver reports (0 without CUDA). */
    public static int cudaDeviceCount() {
        NativeLibrary.ensureLoaded();
        return Attn4jNative.attn4j_cuda_device_count();
    }
}
