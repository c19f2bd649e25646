package org.attn4j.minilm;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The BERT tokenizer described by the model's tokenizer.json: added (special) tokens matched in the raw
 * text, {@link BertNormalizer}, {@link BertPreTokenizer}, {@link WordPiece}, then {@code [CLS] ... [SEP]}.
 * Thread-safe.
 *
 * <p>Truncation: the file asks for 128 tokens (its exporter's choice); this tokenizer instead keeps what the
 * caller asks for, at most the model's 512 positions, and cuts word pieces from the right so that
 * {@code [CLS]} and {@code [SEP]} always stay ({@link Encoding#truncated()} says when).
 */
public final class Tokenizer {
    /** The model's position table: no sequence (special tokens included) can be longer. */
    public static final int MAX_POSITIONS = 512;

    /** Token ids of one text, {@code [CLS]} first and {@code [SEP]} last, and whether pieces were cut. */
    public record Encoding(int[] ids, boolean truncated) {
        public int length() {
            return ids.length;
        }
    }

    private final BertNormalizer normalizer;
    private final WordPiece model;
    private final List<String> addedTokens;   // matched in the raw text, longest first at each position
    private final Map<String, Integer> addedIds;
    private final int clsId;
    private final int sepId;

    private Tokenizer(BertNormalizer normalizer, WordPiece model, Map<String, Integer> added, int clsId, int sepId) {
        this.normalizer = normalizer;
        this.model = model;
        this.addedIds = Map.copyOf(added);
        this.addedTokens = added.keySet().stream().sorted((a, b) -> b.length() - a.length()).toList();
        this.clsId = clsId;
        this.sepId = sepId;
    }

    /** The tokenizer bundled with the model's artifact. */
    public static Tokenizer load() {
        try (InputStream in = ModelFiles.open(ModelFiles.TOKENIZER)) {
            return fromJson(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @SuppressWarnings("unchecked")
    static Tokenizer fromJson(String json) {
        Map<String, Object> root = (Map<String, Object>) Json.parse(json);
        Map<String, Object> norm = (Map<String, Object>) root.get("normalizer");
        Map<String, Object> pre = (Map<String, Object>) root.get("pre_tokenizer");
        Map<String, Object> wp = (Map<String, Object>) root.get("model");
        require("normalizer", norm, "BertNormalizer");
        require("pre_tokenizer", pre, "BertPreTokenizer");
        require("model", wp, "WordPiece");
        boolean lowercase = (Boolean) norm.get("lowercase");
        Object strip = norm.get("strip_accents");
        BertNormalizer normalizer = new BertNormalizer((Boolean) norm.get("clean_text"),
                (Boolean) norm.get("handle_chinese_chars"), strip == null ? lowercase : (Boolean) strip, lowercase);

        Map<String, Object> vocabJson = (Map<String, Object>) wp.get("vocab");
        Map<String, Integer> vocab = new HashMap<>(vocabJson.size() * 2);
        vocabJson.forEach((k, v) -> vocab.put(k, ((Double) v).intValue()));
        String unk = (String) wp.get("unk_token");
        WordPiece model = new WordPiece(vocab, id(vocab, unk), (String) wp.get("continuing_subword_prefix"),
                ((Double) wp.get("max_input_chars_per_word")).intValue());

        Map<String, Integer> added = new HashMap<>();
        for (Object o : (List<Object>) root.get("added_tokens")) {
            Map<String, Object> t = (Map<String, Object>) o;
            if (Boolean.TRUE.equals(t.get("normalized")) || Boolean.TRUE.equals(t.get("single_word"))
                    || Boolean.TRUE.equals(t.get("lstrip")) || Boolean.TRUE.equals(t.get("rstrip"))) {
                throw new IllegalArgumentException("tokenizer.json: added token " + t.get("content") + " has options this tokenizer does not implement");
            }
            added.put((String) t.get("content"), ((Double) t.get("id")).intValue());
        }
        return new Tokenizer(normalizer, model, added, id(vocab, "[CLS]"), id(vocab, "[SEP]"));
    }

    private static void require(String what, Map<String, Object> part, String type) {
        if (part == null || !type.equals(part.get("type"))) {
            throw new IllegalArgumentException("tokenizer.json: " + what + " is " + (part == null ? "missing" : part.get("type"))
                    + ", this tokenizer implements " + type);
        }
    }

    private static int id(Map<String, Integer> vocab, String token) {
        Integer id = vocab.get(token);
        if (id == null) {
            throw new IllegalArgumentException("tokenizer.json: vocabulary has no " + token);
        }
        return id;
    }

    /** {@code [CLS]}, the text's word pieces, {@code [SEP]}: at most {@value #MAX_POSITIONS} ids. */
    public Encoding encode(String text) {
        return encode(text, MAX_POSITIONS);
    }

    /** As {@link #encode(String)}, at most {@code maxLength} ids (3 to {@value #MAX_POSITIONS}), cut from the right. */
    public Encoding encode(String text, int maxLength) {
        if (text == null) {
            throw new IllegalArgumentException("text must not be null");
        }
        if (maxLength < 3 || maxLength > MAX_POSITIONS) {
            throw new IllegalArgumentException("maxLength = " + maxLength + " must be in 3.." + MAX_POSITIONS);
        }
        IntList pieces = wordPieces(text);
        int kept = Math.min(pieces.size(), maxLength - 2);
        int[] ids = new int[kept + 2];
        ids[0] = clsId;
        for (int i = 0; i < kept; i++) {
            ids[i + 1] = pieces.get(i);
        }
        ids[kept + 1] = sepId;
        return new Encoding(ids, kept < pieces.size());
    }

    /** The text's word-piece ids, no special tokens around them, no limit. */
    IntList wordPieces(String text) {
        IntList out = new IntList();
        int plainStart = 0;
        int i = 0;
        while (i < text.length()) {
            String match = addedTokenAt(text, i);
            if (match == null) {
                i++;
                continue;
            }
            plain(text.substring(plainStart, i), out);
            out.add(addedIds.get(match));
            i += match.length();
            plainStart = i;
        }
        plain(text.substring(plainStart), out);
        return out;
    }

    private String addedTokenAt(String text, int i) {
        for (String t : addedTokens) {
            if (text.startsWith(t, i)) {
                return t;
            }
        }
        return null;
    }

    private void plain(String text, IntList out) {
        if (text.isEmpty()) {
            return;
        }
        for (String word : BertPreTokenizer.split(normalizer.normalize(text))) {
            model.tokenize(word, out);
        }
    }

    /** The id of a vocabulary entry, or -1. */
    int tokenId(String token) {
        Integer id = model.vocab().get(token);
        return id == null ? -1 : id;
    }
}
