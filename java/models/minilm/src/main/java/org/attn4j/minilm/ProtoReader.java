package org.attn4j.minilm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * A forward-only reader of protobuf wire format over a {@link MemorySegment}. Reading ONNX needs only
 * tags, varints, fixed32 and length-delimited fields; nested messages and byte fields come back as
 * slices of the same segment, so a mapped model file is never copied.
 */
final class ProtoReader {
    static final int VARINT = 0;
    static final int FIXED64 = 1;
    static final int LEN = 2;
    static final int FIXED32 = 5;

    private final MemorySegment data;
    private long pos;
    private int field;
    private int wireType;

    ProtoReader(MemorySegment data) {
        this.data = data;
    }

    /** Reads the next tag; false at the end of the message. */
    boolean next() {
        if (atEnd()) {
            return false;
        }
        long tag = varint();
        field = (int) (tag >>> 3);
        wireType = (int) (tag & 7);
        if (field == 0) {
            throw new IllegalStateException("protobuf: field number 0 at byte " + pos);
        }
        return true;
    }

    /** Whether the message is used up (for packed repeated values, read without tags). */
    boolean atEnd() {
        return pos >= data.byteSize();
    }

    int field() {
        return field;
    }

    int wireType() {
        return wireType;
    }

    long varint() {
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            byte b = readByte();
            result |= (long) (b & 0x7f) << shift;
            if (b >= 0) {
                return result;
            }
        }
        throw new IllegalStateException("protobuf: varint longer than 10 bytes at byte " + pos);
    }

    float fixed32AsFloat() {
        expect(FIXED32);
        float f = data.get(ValueLayout.JAVA_FLOAT_UNALIGNED, pos);
        pos += 4;
        return f;
    }

    /** The payload of a length-delimited field, as a slice (zero copy). */
    MemorySegment bytes() {
        expect(LEN);
        long length = varint();
        if (length < 0 || pos + length > data.byteSize()) {
            throw new IllegalStateException("protobuf: field " + field + " of " + length + " bytes runs past its message");
        }
        MemorySegment slice = data.asSlice(pos, length);
        pos += length;
        return slice;
    }

    String string() {
        return new String(bytes().toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }

    ProtoReader message() {
        return new ProtoReader(bytes());
    }

    /** Skips the current field's value, whatever its type. */
    void skip() {
        switch (wireType) {
            case VARINT -> varint();
            case FIXED64 -> pos += 8;
            case LEN -> bytes();
            case FIXED32 -> pos += 4;
            default -> throw new IllegalStateException("protobuf: unsupported wire type " + wireType + " (field " + field + ")");
        }
    }

    private void expect(int type) {
        if (wireType != type) {
            throw new IllegalStateException("protobuf: field " + field + " has wire type " + wireType + ", expected " + type);
        }
    }

    private byte readByte() {
        if (pos >= data.byteSize()) {
            throw new IllegalStateException("protobuf: message ends inside a value");
        }
        return data.get(ValueLayout.JAVA_BYTE, pos++);
    }
}
