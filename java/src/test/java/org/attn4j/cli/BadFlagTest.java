package org.attn4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.UUID;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every flag out of its range or of the wrong type: exit code 2, one line on stderr that names the
 * flag, and nothing else (no output on stdout: the run never started).
 */
class BadFlagTest {
    private static final String MISSING_DIR =
            Path.of(System.getProperty("java.io.tmpdir"), "attn4j-no-such-dir-" + UUID.randomUUID(), "x.png").toString();

    static Stream<Arguments> badFlags() {
        return Stream.of(
                // int truncation, negative counts, sizes too large to allocate
                bad("--threads", "flash", "--threads", "4294967297"),
                bad("--window", "flash", "--window", "4294967296,0"),
                bad("--iters", "flash", "--iters", "4294967297"),
                bad("--check-rows", "flash", "--check-rows", "-1"),
                bad("--seq", "flash", "--seq", "1000000000"),
                bad("--plot", "bench", "--plot", "/proc/x.png"),
                bad("--plot", "bench", "--plot", MISSING_DIR),
                bad("--plot", "sale", "--plot", "/proc/x.png"),
                // flash
                bad("--batch", "flash", "--batch", "0"),
                bad("--heads", "flash", "--heads", "0"),
                bad("--kv-heads", "flash", "--kv-heads", "3"),
                bad("--kv-heads", "flash", "--kv-heads", "0"),
                bad("--seq", "flash", "--seq", "0"),
                bad("--kv-seq", "flash", "--kv-seq", "0"),
                bad("--kv-seq", "flash", "--kv-seq", "1000000000000"),
                bad("--dim", "flash", "--dim", "0"),
                bad("--dim", "flash", "--dim", "513"),
                bad("--dim-v", "flash", "--dim-v", "513"),
                bad("--dtype", "flash", "--dtype", "f16"),
                bad("--dtype", "flash", "--dtype", "f64"),
                bad("--window", "flash", "--window", "-2,0"),
                bad("--window", "flash", "--window", "1,2,3"),
                bad("--softcap", "flash", "--softcap", "-1"),
                bad("--softcap", "flash", "--softcap", "NaN"),
                bad("--threads", "flash", "--threads", "-1"),
                bad("--iters", "flash", "--iters", "0"),
                bad("--seed", "flash", "--seed", "x"),
                bad("--nope", "flash", "--nope"),
                bad("--seq", "flash", "--seq"),
                // lightning
                bad("--batch", "lightning", "--batch", "4294967297"),
                bad("--heads", "lightning", "--heads", "0"),
                bad("--kv-heads", "lightning", "--heads", "4", "--kv-heads", "3"),
                bad("--seq", "lightning", "--seq", "1000000000"),
                bad("--dim", "lightning", "--dim", "600"),
                bad("--dim-v", "lightning", "--dim-v", "0"),
                bad("--decay", "lightning", "--decay", "alibi"),
                bad("--block", "lightning", "--block", "257"),
                bad("--block", "lightning", "--block", "-1"),
                bad("--threads", "lightning", "--threads", "4294967297"),
                bad("--iters", "lightning", "--iters", "0"),
                bad("--check-rows", "lightning", "--check-rows", "-1"),
                // sale
                bad("--heads", "sale", "--heads", "0"),
                bad("--kv-heads", "sale", "--heads", "4", "--kv-heads", "3"),
                bad("--seq", "sale", "--seq", "100,0"),
                bad("--seq", "sale", "--seq", "1000000000"),
                bad("--dim", "sale", "--dim", "0"),
                bad("--pattern", "sale", "--pattern", "zigzag"),
                bad("--tau", "sale", "--tau", "-1"),
                bad("--tau", "sale", "--tau", "0.1,NaN"),
                bad("--tau", "sale", "--tau", "0.1,x"),
                bad("--target", "sale", "--target", "0"),
                bad("--target", "sale", "--target", "-0.5"),
                bad("--blocks", "sale", "--blocks", "24,64"),
                bad("--blocks", "sale", "--blocks", "112,64"),
                bad("--blocks", "sale", "--blocks", "64,528"),
                bad("--blocks", "sale", "--blocks", "64"),
                bad("--threads", "sale", "--threads", "-1"),
                bad("--iters", "sale", "--iters", "4294967297"),
                bad("--check-rows", "sale", "--check-rows", "-1"),
                // bench
                bad("--kernels", "bench", "--kernels", "flash,magic"),
                bad("--seq", "bench", "--seq", "0"),
                bad("--seq", "bench", "--seq", "1024,1000000000"),
                bad("--heads", "bench", "--heads", "0"),
                bad("--dim", "bench", "--dim", "1000"),
                bad("--tau", "bench", "--tau", "-1"),
                bad("--threads", "bench", "--threads", "4294967297"),
                bad("--iters", "bench", "--iters", "0"),
                // info takes no flags
                bad("--seq", "info", "--seq", "1"));
    }

    private static Arguments bad(String flag, String... args) {
        return Arguments.of(flag, String.join(" ", args), args);
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("badFlags")
    void isRejectedInOneLineNamingTheFlag(String flag, String command, String[] args) {
        CliRun r = CliRun.of(args);
        assertEquals(2, r.code(), command + " -> " + r);
        assertEquals("", r.out(), "nothing may run before the flags are checked: " + r);
        String message = r.err().strip();
        assertEquals(1, message.lines().count(), "one line expected: " + r);
        assertTrue(message.startsWith("attn4j: "), message);
        assertTrue(Pattern.compile("(?<![\\w-])" + Pattern.quote(flag) + "(?![\\w-])").matcher(message).find(),
                "the message should name " + flag + ": " + message + " (args " + Arrays.toString(args) + ")");
    }
}
