package org.attn4j.minilm;

import java.util.ArrayList;
import java.util.List;

/** tokenizer.json's {@code BertPreTokenizer}: split at whitespace (dropped) and around every punctuation character (kept alone). */
final class BertPreTokenizer {
    private BertPreTokenizer() {}

    static List<String> split(String text) {
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        text.codePoints().forEach(c -> {
            if (Chars.isWhitespace(c)) {
                flush(word, words);
            } else if (Chars.isPunctuation(c)) {
                flush(word, words);
                words.add(Character.toString(c));
            } else {
                word.appendCodePoint(c);
            }
        });
        flush(word, words);
        return words;
    }

    private static void flush(StringBuilder word, List<String> words) {
        if (!word.isEmpty()) {
            words.add(word.toString());
            word.setLength(0);
        }
    }
}
