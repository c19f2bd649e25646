package org.attn4j.minilm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The tokenizer against expectations written from tokenizer.json's rules and its vocabulary, no other tokenizer. */
class TokenizerTest {
    private static final Tokenizer TOKENIZER = Tokenizer.load();

    /** [CLS], the vocabulary ids of {@code pieces}, [SEP]. */
    private static int[] expect(String... pieces) {
        int[] ids = new int[pieces.length + 2];
        ids[0] = 101;
        ids[ids.length - 1] = 102;
        for (int i = 0; i < pieces.length; i++) {
            ids[i + 1] = TOKENIZER.tokenId(pieces[i]);
            assertTrue(ids[i + 1] >= 0, pieces[i] + " is not in the vocabulary");
        }
        return ids;
    }

    private static void assertTokens(String text, String... pieces) {
        assertArrayEquals(expect(pieces), TOKENIZER.encode(text).ids(), () -> text + " -> " + Arrays.toString(TOKENIZER.encode(text).ids()));
    }

    @Test
    void knownIds() {
        assertArrayEquals(new int[] {101, 7592, 2088, 999, 102}, TOKENIZER.encode("Hello world!").ids());
        assertEquals(103, TOKENIZER.tokenId("[MASK]"));
        assertEquals(100, TOKENIZER.tokenId("[UNK]"));
    }

    @Test
    void emptyTextIsClsSep() {
        assertArrayEquals(new int[] {101, 102}, TOKENIZER.encode("").ids());
        assertArrayEquals(new int[] {101, 102}, TOKENIZER.encode(" \t\n\u3000").ids());
    }

    @Test
    void wordPiecesLongestFirst() {
        assertTokens("playing tokenizers", "playing", "token", "##izer", "##s");
        assertTokens("embedding", "em", "##bed", "##ding");
    }

    @Test
    void lowercaseAndAccentsStripped() {
        assertTokens("CAFÉ Café cafe\u0301", "cafe", "cafe", "cafe");
        assertTokens("İ", "i");                                       // NFD: I + dot above (a mark), then lowercase
    }

    @Test
    void punctuationIsolatedIncludingAsciiSymbols() {
        assertTokens("a,b$c", "a", ",", "b", "$", "c");
        assertTokens("«x»", "«", "x", "»");                            // Unicode Pi / Pf
    }

    @Test
    void unicodeWhitespaceSplitsWords() {
        assertTokens("hello\u00a0world", "hello", "world");          // no-break space: White_Space, not Java whitespace
        assertTokens("hello\u2009world", "hello", "world");
    }

    @Test
    void controlAndFormatCharactersVanish() {
        assertTokens("hel\u0000lo\u200b\ufffd", "hello");               // NUL, zero-width space (Cf), replacement char
        assertTokens("a\u000bb", "ab");                                // vertical tab is a control character: removed, not a space
    }

    @Test
    void chineseCharactersAreWords() {
        assertTokens("東京abc", "東", "京", "abc");
    }

    @Test
    void specialTokensInTextAreMatchedRaw() {
        assertTokens("a [MASK] b", "a", "[MASK]", "b");
        assertTokens("[mask]", "[", "mask", "]");                      // case-sensitive, before normalization
    }

    @Test
    void overlongWordAndUnknownPieceAreUnk() {
        assertTokens("a".repeat(101), "[UNK]");
        assertTrue(TOKENIZER.encode("a".repeat(100)).ids()[1] != 100, "100 characters are still a word");
        assertTokens("\u2603", "[UNK]");                                 // the snowman is not in the vocabulary
    }

    @Test
    void truncatesFromTheRightKeepingSep() {
        String text = "hello ".repeat(600);
        Tokenizer.Encoding e = TOKENIZER.encode(text);
        assertEquals(Tokenizer.MAX_POSITIONS, e.length());
        assertTrue(e.truncated());
        assertEquals(101, e.ids()[0]);
        assertEquals(102, e.ids()[511]);
        assertEquals(7592, e.ids()[510]);
        Tokenizer.Encoding short8 = TOKENIZER.encode(text, 8);
        assertArrayEquals(expect("hello", "hello", "hello", "hello", "hello", "hello"), short8.ids());
        assertFalse(TOKENIZER.encode("hello", 8).truncated());
        assertThrows(IllegalArgumentException.class, () -> TOKENIZER.encode("x", 513));
        assertThrows(IllegalArgumentException.class, () -> TOKENIZER.encode("x", 2));
        assertThrows(IllegalArgumentException.class, () -> TOKENIZER.encode(null));
    }
}
