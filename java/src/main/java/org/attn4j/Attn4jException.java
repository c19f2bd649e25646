package org.attn4j;

/**
 * A native call failed. Carries the C status code and the library's message, which names the bad
 * argument. Arguments Java can check itself fail earlier, with {@link IllegalArgumentException}.
 *
 * <pre>{@code
 * try { attention.forward(q, k, v, out); }
 * catch (Attn4jException e) { System.err.println(e.statusName() + ": " + e.getMessage()); }
 * }</pre>
 */
public class Attn4jException extends RuntimeException {
    private final int status;
    private final String statusName;

    public Attn4jException(int status, String statusName, String message) {
        super(message);
        this.status = status;
        this.statusName = statusName;
    }

    public Attn4jException(String message, Throwable cause) {
        super(message, cause);
        this.status = -1;
        this.statusName = "LOAD_FAILED";
    }

    /** The {@code ATTN4J_STATUS_*} value, or -1 when the native library could not be loaded. */
    public int status() {
        return status;
    }

    /** The status as its C name, e.g. {@code ATTN4J_STATUS_INVALID_SHAPE}. */
    public String statusName() {
        return statusName;
    }
}
