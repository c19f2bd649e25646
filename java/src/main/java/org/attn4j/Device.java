package org.attn4j;

/**
 * Where a tensor's memory lives: the host ({@link #CPU}) or a CUDA device.
 *
 * <pre>{@code
 * Device d = Device.CPU;
 * boolean onHost = d.isCpu(); // true
 * }</pre>
 *
 * @param ordinal -1 for the host, else the CUDA device ordinal
 */
public record Device(int ordinal) {
    /** Host memory. */
    public static final Device CPU = new Device(-1);

    public Device {
        if (ordinal < -1) {
            throw new IllegalArgumentException("ordinal = " + ordinal + " must be -1 (host) or a CUDA device >= 0");
        }
    }

    /** CUDA device number {@code n}. */
    public static Device cuda(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("n = " + n + " must be >= 0");
        }
        return new Device(n);
    }

    public boolean isCpu() {
        return ordinal == -1;
    }

    @Override
    public String toString() {
        return isCpu() ? "cpu" : "cuda:" + ordinal;
    }
}
