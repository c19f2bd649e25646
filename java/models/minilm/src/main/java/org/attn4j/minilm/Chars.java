package org.attn4j.minilm;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Character classes the BERT tokenizer uses, defined as the Unicode properties (not Java's own
 * variants), with the general categories of the reference tokenizer's older Unicode tables where they
 * differ from Java's ({@code reference-categories.txt}: mostly characters added since, letters to it).
 */
final class Chars {
    private static final String TABLE = "reference-categories.txt";
    private static final int[] FROM;
    private static final int[] TO;
    private static final byte[] TYPE;

    static {
        List<int[]> ranges = new ArrayList<>();
        try (InputStream in = Chars.class.getResourceAsStream(TABLE)) {
            if (in == null) {
                throw new IOException("missing");
            }
            for (String line : new String(in.readAllBytes(), StandardCharsets.US_ASCII).split("\n")) {
                if (line.startsWith("#")) {
                    continue;
                }
                for (String entry : line.trim().split(" +")) {
                    if (!entry.isEmpty()) {
                        String[] rangeType = entry.split("=");
                        String[] ends = rangeType[0].split("-");
                        int type = rangeType.length == 1 ? Character.UNASSIGNED : category(rangeType[1]);
                        ranges.add(new int[] {Integer.parseInt(ends[0], 16), Integer.parseInt(ends[ends.length - 1], 16), type});
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + TABLE, e);
        }
        ranges.sort((a, b) -> Integer.compare(a[0], b[0]));
        for (int i = 1; i < ranges.size(); i++) {
            if (ranges.get(i)[0] <= ranges.get(i - 1)[1]) {
                throw new IllegalStateException(TABLE + ": entries overlap at " + Integer.toHexString(ranges.get(i)[0]));
            }
        }
        FROM = ranges.stream().mapToInt(r -> r[0]).toArray();
        TO = ranges.stream().mapToInt(r -> r[1]).toArray();
        TYPE = new byte[ranges.size()];
        for (int i = 0; i < TYPE.length; i++) {
            TYPE[i] = (byte) ranges.get(i)[2];
        }
    }

    private Chars() {}

    private static int category(String abbreviation) {
        return switch (abbreviation) {
            case "Po" -> Character.OTHER_PUNCTUATION;
            case "Mn" -> Character.NON_SPACING_MARK;
            case "Cn" -> Character.UNASSIGNED;
            default -> throw new IllegalStateException(TABLE + ": unknown category " + abbreviation);
        };
    }

    /** {@link Character#getType(int)} as the reference tokenizer's tables have it. */
    static int type(int c) {
        int i = Arrays.binarySearch(FROM, c);
        int range = i >= 0 ? i : -i - 2;
        if (range >= 0 && c <= TO[range]) {
            return TYPE[range];
        }
        return Character.getType(c);
    }

    /** The Unicode White_Space property (Java's isWhitespace differs: no U+00A0, adds U+001C..U+001F). */
    static boolean isWhitespace(int c) {
        return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680
                || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
    }

    /** ASCII punctuation (symbols such as $ + < = > ^ ` | ~ included) or any Unicode P* category. */
    static boolean isPunctuation(int c) {
        if (c < 0x80) {
            return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
        }
        return switch (type(c)) {
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                    Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
                    Character.OTHER_PUNCTUATION -> true;
            default -> false;
        };
    }
}
