package org.attn4j;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads the little-endian f4/f8 .npy files (format 1.0) that the C++ parity test writes. */
record Npy(String descr, long[] shape, ByteBuffer data) {
    private static final Pattern DESCR = Pattern.compile("'descr':\\s*'([^']+)'");
    private static final Pattern SHAPE = Pattern.compile("'shape':\\s*\\(([^)]*)\\)");

    static Npy read(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        if (b.get(0) != (byte) 0x93 || b.get(1) != 'N' || b.get(6) != 1) {
            throw new IOException(file + ": not a version 1 .npy file");
        }
        int headerLen = Short.toUnsignedInt(b.getShort(8));
        String header = new String(b.array(), 10, headerLen, StandardCharsets.US_ASCII);
        Matcher d = DESCR.matcher(header), s = SHAPE.matcher(header);
        if (!d.find() || !s.find() || header.contains("'fortran_order': True")) {
            throw new IOException(file + ": unsupported header " + header);
        }
        long[] shape = Arrays.stream(s.group(1).split(",")).map(String::trim).filter(x -> !x.isEmpty())
                .mapToLong(Long::parseLong).toArray();
        return new Npy(d.group(1), shape, b.slice(10 + headerLen, b.capacity() - 10 - headerLen).order(ByteOrder.LITTLE_ENDIAN));
    }

    float[] floats() {
        if (!descr.equals("<f4")) throw new IllegalStateException("dtype " + descr + ", expected <f4");
        float[] out = new float[data.capacity() / 4];
        data.asFloatBuffer().get(out);
        return out;
    }

    double[] doubles() {
        if (!descr.equals("<f8")) throw new IllegalStateException("dtype " + descr + ", expected <f8");
        double[] out = new double[data.capacity() / 8];
        data.asDoubleBuffer().get(out);
        return out;
    }
}
