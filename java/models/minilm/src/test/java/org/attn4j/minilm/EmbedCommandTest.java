package org.attn4j.minilm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ci/attn4j embed}, in process: what it prints, and one line naming the flag with exit 2 on bad arguments. */
class EmbedCommandTest {
    private record Run(int status, String out, String err) {}

    private static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = EmbedCommand.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static void assertUsageError(String flag, String... args) {
        Run r = run(args);
        assertEquals(2, r.status(), r.err());
        assertEquals(1, r.err().lines().count(), "one line: " + r.err());
        assertTrue(r.err().contains(flag), "names " + flag + ": " + r.err());
        assertEquals("", r.out());
    }

    @Test
    void badArgumentsAreOneLineNamingTheFlag() {
        assertUsageError("--threads", "--threads", "x", "hello");
        assertUsageError("--threads", "--threads", "-1", "hello");
        assertUsageError("--max-length", "--max-length", "513", "hello");
        assertUsageError("--max-length", "--max-length", "2", "hello");
        assertUsageError("--values", "--values", "400", "hello");
        assertUsageError("--runs", "--runs", "0", "hello");
        assertUsageError("--warmup", "--warmup", "-1", "hello");
        assertUsageError("--file", "--file", "/no/such/file.txt");
        assertUsageError("--file", "--file");
        assertUsageError("--nope", "--nope", "hello");
        assertUsageError("--file", new String[0]);   // no texts at all
    }

    @Test
    void printsValuesSimilaritiesTokensSpeedAndTheCheck(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("lines.txt");
        Files.writeString(file, "A kitten rests on a rug.\n\n   \nStock markets fell sharply today.\n");
        Run r = run("--warmup", "0", "--runs", "2", "--threads", "2", "--values", "3", "--check", "A cat sits on the mat.",
                "--file", file.toString());
        assertEquals(0, r.status(), r.err());
        String out = r.out();
        assertTrue(out.contains("batch: 3 texts, 26 valid tokens, padded 3 x 9 = 27 tokens"), out);
        assertTrue(out.contains("[0] \"A cat sits on the mat.\" (9 ids): ["), out);
        assertTrue(out.contains("[2] \"Stock markets fell sharply today.\" (8 ids): ["), out);
        assertTrue(Pattern.compile("\\[1] .*: \\[-?0\\.\\d{5}, -?0\\.\\d{5}, -?0\\.\\d{5}, \\.\\.\\.]").matcher(out).find(), out);
        assertTrue(out.contains("cosine similarities:"), out);
        assertTrue(Pattern.compile("\\[0]\\s+1\\.000\\s+0\\.6\\d\\d\\s+0\\.0\\d\\d").matcher(out).find(), out);
        assertTrue(Pattern.compile("sentences/s, attention \\d+% of it, 2 threads").matcher(out).find(), out);
        Matcher check = Pattern.compile("check: ONNX Runtime [0-9.]+ on the same ids: largest \\|difference\\| ([0-9.e+-]+)").matcher(out);
        assertTrue(check.find(), out);
        assertTrue(Double.parseDouble(check.group(1)) <= 1e-5, out);
    }

    @Test
    void longTextsSayTheyWereCut() {
        Run r = run("--warmup", "0", "--runs", "1", "--max-length", "8", "one two three four five six seven eight nine");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("(8 ids, cut to --max-length)"), r.out());
    }
}
