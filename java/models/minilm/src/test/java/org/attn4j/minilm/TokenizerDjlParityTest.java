package org.attn4j.minilm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The same ids as HuggingFace's Rust tokenizer (through DJL, which langchain4j's own all-MiniLM-L6-v2
 * model uses on this tokenizer.json; its native library is in DJL's jar) on hand-picked hard cases and
 * on random text drawn from many scripts. DJL runs with padding and truncation off.
 */
class TokenizerDjlParityTest {
    private static HuggingFaceTokenizer djl;
    private static final Tokenizer MINE = Tokenizer.load();

    @BeforeAll
    static void open() throws Exception {
        try (InputStream in = ModelFiles.open(ModelFiles.TOKENIZER)) {
            djl = HuggingFaceTokenizer.newInstance(in, Map.of("padding", "false", "truncation", "false"));
        }
    }

    @AfterAll
    static void close() {
        djl.close();
    }

    private static void assertSame(String text) {
        long[] expected = djl.encode(text).getIds();
        int[] ids = MINE.encode(text, Tokenizer.MAX_POSITIONS).ids();
        long[] actual = Arrays.stream(ids).asLongStream().toArray();
        if (expected.length > Tokenizer.MAX_POSITIONS) {
            return;  // the reference does not cut; texts here stay below 512 ids
        }
        assertEquals(Arrays.toString(expected), Arrays.toString(actual), () -> "text: " + escape(text));
    }

    @Test
    void hardCases() {
        for (String s : List.of("", " ", "Hello, World!", "don't stop-believing...", "e-mail: a.b@c.org, https://x.y/z?q=1#f",
                "3.14159 1,000,000 $5 50% #1", "Ünïcödé façade naïve café résumé Ångström", "ΣΊΣΥΦΟΣ σοφός ς", "İstanbul ıi",
                "Straße groß", "東京タワーは高い。中文字符", "한국어 텍스트", "がぎぐげご ガギグゲゴ", "Привет, мир!", "مرحبا بالعالم",
                "नमस्ते दुनिया", "ภาษาไทย", "emoji 🙂👍🏽 👨‍👩‍👧", "tab\tnew\nline\rcr", "nbsp\u00a0thin\u2009ideo\u3000space",
                "zero\u200bwidth\u200djoiner\u2060", "control\u0001\u0007\u001f\u007f\u0085chars", "[CLS] [SEP] [PAD] [UNK] [MASK]",
                "[MASK][MASK]x[SEP]", "[mask] [ CLS ]", "a".repeat(100), "b".repeat(101), "x".repeat(300),
                "supercalifragilisticexpialidocious antidisestablishmentarianism", "ﬁ ﬂ ﬀ", "Ⅻ ① ²³", "\ud800 lone surrogate",
                "combining a\u0301\u0302\u0303 marks", "fullwidth ＡＢＣ１２３", "«quotes» „low“ ‘single’", "¿Qué? ¡Sí!",
                "under_score snake_case CamelCase", "C++ C# F# .NET", "😀".repeat(20))) {
            assertSame(s);
        }
    }

    @Test
    void randomText() {
        // code point ranges of scripts and symbol blocks, some with marks, some unassigned points inside
        int[][] ranges = {{0x20, 0x7e}, {0xa0, 0x24f}, {0x300, 0x36f}, {0x370, 0x3ff}, {0x400, 0x4ff}, {0x590, 0x5ff},
            {0x600, 0x6ff}, {0x900, 0x97f}, {0xe00, 0xe7f}, {0x1100, 0x11ff}, {0x2000, 0x206f}, {0x20a0, 0x20cf},
            {0x2100, 0x214f}, {0x2190, 0x23ff}, {0x3000, 0x30ff}, {0x4e00, 0x4f00}, {0xac00, 0xad00}, {0xfb00, 0xfb4f},
            {0xff00, 0xffef}, {0x1f300, 0x1f64f}, {0x0, 0x1f}};
        SplittableRandom r = new SplittableRandom(7);
        List<String> texts = new ArrayList<>();
        for (int n = 0; n < 3000; n++) {
            StringBuilder b = new StringBuilder();
            int len = 1 + r.nextInt(40);
            int[] home = ranges[r.nextInt(ranges.length)];
            for (int i = 0; i < len; i++) {
                int[] range = r.nextInt(4) == 0 ? ranges[r.nextInt(ranges.length)] : home;
                int c = range[0] + r.nextInt(range[1] - range[0] + 1);
                if (r.nextInt(6) == 0) {
                    b.append(' ');
                }
                if (!Character.isSurrogate((char) c)) {
                    b.appendCodePoint(c);
                }
            }
            texts.add(b.toString());
        }
        for (String t : texts) {
            assertSame(t);
        }
    }

    /** Every code point between two letters (this also checks reference-unassigned.txt, entry by entry). */
    @Test
    void everyCodePoint() {
        int differ = 0;
        StringBuilder first = new StringBuilder();
        for (int c = 0; c <= Character.MAX_CODE_POINT; c++) {
            if (Character.isSurrogate((char) c) && c <= 0xffff) {
                continue;
            }
            String text = "a" + Character.toString(c) + "b";
            long[] expected = djl.encode(text).getIds();
            long[] actual = Arrays.stream(MINE.encode(text).ids()).asLongStream().toArray();
            if (!Arrays.equals(expected, actual)) {
                if (differ++ < 10) {
                    first.append(String.format(" U+%04X %s vs %s;", c, Arrays.toString(expected), Arrays.toString(actual)));
                }
            }
        }
        assertEquals(0, differ, () -> "code points tokenized differently:" + first);
    }

    private static String escape(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().forEach(c -> b.append(c >= 0x20 && c < 0x7f ? Character.toString(c) : String.format("\\u{%x}", c)));
        return b.toString();
    }
}
