package org.attn4j;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * The parity vectors the C++ suite writes (build/parity/&lt;kernel&gt;_&lt;case&gt;/). Missing vectors fail the
 * test when -Dattn4j.parity.required=true (the test command sets it) and skip it otherwise.
 */
final class ParityCases {
    private ParityCases() {}

    static List<Path> list(String prefix) throws IOException {
        Path dir = Path.of(System.getProperty("attn4j.parity.dir", "../build/parity"));
        List<Path> cases;
        try (Stream<Path> s = Files.isDirectory(dir) ? Files.list(dir) : Stream.empty()) {
            cases = s.filter(p -> p.getFileName().toString().startsWith(prefix)).sorted().toList();
        }
        if (Boolean.getBoolean("attn4j.parity.required")) {
            assertFalse(cases.isEmpty(), "no " + prefix + "* parity vectors in " + dir + ": run ctest first (ci/test.sh does)");
        }
        assumeTrue(!cases.isEmpty(), "no " + prefix + "* parity vectors in " + dir + " (written by ctest); skipping");
        return cases;
    }

    static Properties properties(Path dir) throws IOException {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(dir.resolve("case.properties"))) {
            p.load(in);
        }
        return p;
    }

    /** Whether the C++ side ran the same kernels as this JVM is about to (bit-identical results expected). */
    static boolean sameIsa(Properties p) {
        return Attn4j.cpuIsa().name().equalsIgnoreCase(p.getProperty("isa"));
    }
}
