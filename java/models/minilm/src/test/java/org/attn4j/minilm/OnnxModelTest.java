package org.attn4j.minilm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The wire-format reader on hand-built messages, and on the real file. */
class OnnxModelTest {
    private static byte[] field(int number, byte[] payload) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        varint(out, number << 3 | 2);
        varint(out, payload.length);
        out.writeBytes(payload);
        return out.toByteArray();
    }

    private static byte[] varintField(int number, long v) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        varint(out, number << 3);
        varint(out, v);
        return out.toByteArray();
    }

    private static void varint(ByteArrayOutputStream out, long v) {
        while ((v & ~0x7fL) != 0) {
            out.write((int) (v & 0x7f | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }

    private static byte[] cat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static OnnxModel read(Arena arena, byte[] model) {
        return OnnxModel.read(arena.allocateFrom(ValueLayout.JAVA_BYTE, model));
    }

    @Test
    void readsNodesAndInitializersPackedOrNot() {
        byte[] raw = {0, 0, (byte) 0x80, 0x3f, 0, 0, 0, 0x40};   // 1.0f, 2.0f little-endian
        byte[] tensorPlainDims = cat(varintField(1, 1), varintField(1, 2), varintField(2, 1),
                field(8, "w".getBytes(StandardCharsets.UTF_8)), field(9, raw));
        byte[] tensorPackedDims = cat(field(1, new byte[] {2, 1}), varintField(2, 1),
                field(8, "v".getBytes(StandardCharsets.UTF_8)), field(4, raw), varintField(99, 5));  // an unknown field
        byte[] node = cat(field(1, "x".getBytes(StandardCharsets.UTF_8)), field(1, "w".getBytes(StandardCharsets.UTF_8)),
                field(2, "y".getBytes(StandardCharsets.UTF_8)), field(3, "/mm".getBytes(StandardCharsets.UTF_8)),
                field(4, "MatMul".getBytes(StandardCharsets.UTF_8)));
        byte[] graph = cat(field(1, node), field(5, tensorPlainDims), field(5, tensorPackedDims));
        try (Arena arena = Arena.ofConfined()) {
            OnnxModel m = read(arena, cat(varintField(1, 8), field(7, graph)));
            assertEquals("MatMul", m.node("/mm").opType());
            OnnxModel.Initializer w = m.input("/mm", 1);
            assertArrayEquals(new long[] {1, 2}, w.dims());
            assertEquals(2f, w.data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 1));
            assertArrayEquals(new long[] {2, 1}, m.initializer("v").dims());
            assertEquals(8, m.initializer("v").data().byteSize());
            assertThrows(IllegalStateException.class, () -> m.initializer("nope"));
        }
    }

    @Test
    void rejectsExternalDataAndBrokenMessages() {
        byte[] external = cat(field(8, "e".getBytes(StandardCharsets.UTF_8)), varintField(14, 1));
        try (Arena arena = Arena.ofConfined()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> read(arena, field(7, field(5, external))));
            assertTrue(e.getMessage().contains("external"), e.getMessage());
            byte[] cut = field(7, field(5, external));
            assertThrows(IllegalStateException.class, () -> read(arena, java.util.Arrays.copyOf(cut, cut.length - 2)));
            assertThrows(IllegalStateException.class, () -> read(arena, varintField(1, 8)));   // no graph
        }
    }

    @Test
    void theModelFileHasWhatTheEncoderNeeds() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment file = ModelFiles.mapOnnx(arena);
            OnnxModel m = OnnxModel.read(file);
            assertTrue(m.nodeCount() > 600, "nodes: " + m.nodeCount());
            new Weights(m, arena);   // every shape checked
        }
    }
}
