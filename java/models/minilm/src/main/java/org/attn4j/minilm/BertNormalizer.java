package org.attn4j.minilm;

import java.text.Normalizer;
import java.util.Locale;

/**
 * tokenizer.json's {@code BertNormalizer}, step by step in its order: clean the text (drop NUL, U+FFFD
 * and control/format characters, whitespace becomes a space), space out CJK ideographs, strip accents (NFD,
 * then drop nonspacing marks), lowercase per character (no context, so a final sigma stays σ).
 */
record BertNormalizer(boolean cleanText, boolean chineseChars, boolean stripAccents, boolean lowercase) {

    String normalize(String text) {
        String s = text;
        if (cleanText) {
            s = clean(s);
        }
        if (chineseChars) {
            s = spaceChinese(s);
        }
        if (stripAccents) {
            s = stripAccents(s);
        }
        if (lowercase) {
            s = lowercase(s);
        }
        return s;
    }

    private static String clean(String s) {
        StringBuilder b = new StringBuilder(s.length());
        s.codePoints().forEach(c -> {
            if (c == 0 || c == 0xFFFD || isControl(c)) {
                return;
            }
            b.appendCodePoint(Chars.isWhitespace(c) ? ' ' : c);
        });
        return b.toString();
    }

    /**
     * Control, format, private-use and surrogate characters (Cc, Cf, Co, Cs), except tab, newline and
     * carriage return, which count as whitespace. Unassigned code points (Cn) stay, as in the reference
     * implementation, whose character tables have none.
     */
    private static boolean isControl(int c) {
        if (c == '\t' || c == '\n' || c == '\r') {
            return false;
        }
        return switch (Chars.type(c)) {
            case Character.CONTROL, Character.FORMAT, Character.PRIVATE_USE, Character.SURROGATE -> true;
            default -> false;
        };
    }

    private static String spaceChinese(String s) {
        StringBuilder b = new StringBuilder(s.length());
        s.codePoints().forEach(c -> {
            if (isChinese(c)) {
                b.append(' ').appendCodePoint(c).append(' ');
            } else {
                b.appendCodePoint(c);
            }
        });
        return b.toString();
    }

    /** The CJK Unified Ideographs blocks BERT treats as words of their own (not Hangul, not kana). */
    static boolean isChinese(int c) {
        return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF)
                || (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF)
                || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
    }

    private static String stripAccents(String s) {
        String nfd = Normalizer.normalize(s, Normalizer.Form.NFD);
        StringBuilder b = new StringBuilder(nfd.length());
        nfd.codePoints().filter(c -> Chars.type(c) != Character.NON_SPACING_MARK).forEach(b::appendCodePoint);
        return b.toString();
    }

    private static String lowercase(String s) {
        StringBuilder b = new StringBuilder(s.length());
        s.codePoints().forEach(c -> {
            if (c < 0x80) {
                b.append((char) (c >= 'A' && c <= 'Z' ? c + 32 : c));
            } else {
                // one character's full lowercase mapping (U+0130 becomes two), never the context-dependent ones
                b.append(Character.toString(c).toLowerCase(Locale.ROOT));
            }
        });
        return b.toString();
    }
}
