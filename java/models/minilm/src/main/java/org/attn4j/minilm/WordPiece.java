package org.attn4j.minilm;

import java.util.Map;

/**
 * tokenizer.json's {@code WordPiece} model: each word becomes the longest vocabulary entry from its
 * start, then the longest {@code ##}-prefixed entry from there, and so on; a word with a piece that
 * matches nothing, or longer than {@code maxInputChars} characters, becomes the one unknown token.
 */
record WordPiece(Map<String, Integer> vocab, int unkId, String prefix, int maxInputChars) {

    /** Appends the ids of {@code word}'s pieces to {@code out}. */
    void tokenize(String word, IntList out) {
        int[] ends = codePointEnds(word);
        if (ends.length > maxInputChars) {
            out.add(unkId);
            return;
        }
        int mark = out.size();
        int startChar = 0;
        int start = 0;
        while (startChar < ends.length) {
            Integer id = null;
            int endChar = ends.length;
            for (; endChar > startChar; endChar--) {
                String piece = word.substring(start, ends[endChar - 1]);
                id = vocab.get(start > 0 ? prefix + piece : piece);
                if (id != null) {
                    break;
                }
            }
            if (id == null) {
                out.truncate(mark);
                out.add(unkId);
                return;
            }
            out.add(id);
            startChar = endChar;
            start = ends[endChar - 1];
        }
    }

    /** The char index just past each code point of {@code s}. */
    private static int[] codePointEnds(String s) {
        int[] ends = new int[s.codePointCount(0, s.length())];
        int i = 0;
        for (int k = 0; k < ends.length; k++) {
            i += Character.charCount(s.codePointAt(i));
            ends[k] = i;
        }
        return ends;
    }
}
