package org.attn4j;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;

/** The README's Java example compiles and runs as printed (imports on top, the rest inside main). */
class ReadmeExampleTest {

    @Test
    void readmeExampleCompilesAndRuns() throws Exception {
        String readme = Files.readString(Path.of(System.getProperty("attn4j.readme", "../README.md")));
        int start = readme.indexOf("<!-- example:start -->");
        int end = readme.indexOf("<!-- example:end -->");
        assertTrue(start >= 0 && end > start, "README.md has no <!-- example:start/end --> block");
        String block = readme.substring(start, end);
        block = block.substring(block.indexOf("```java") + 7, block.lastIndexOf("```"));
        List<String> lines = block.lines().toList();
        String imports = lines.stream().filter(l -> l.startsWith("import ")).collect(Collectors.joining("\n"));
        String body = lines.stream().filter(l -> !l.startsWith("import ")).collect(Collectors.joining("\n"));
        String source = imports + "\npublic class ReadmeExample {\n public static void main(String[] args) {\n" + body + "\n }\n}\n";

        Path dir = Files.createTempDirectory("attn4j-readme");
        Files.writeString(dir.resolve("ReadmeExample.java"), source);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
        int rc = javac.run(null, diagnostics, diagnostics, "-d", dir.toString(), "-cp", System.getProperty("java.class.path"),
                dir.resolve("ReadmeExample.java").toString());
        assertTrue(rc == 0, "README example does not compile:\n" + diagnostics + "\n" + source);

        PrintStream saved = System.out;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.toUri().toURL()}, getClass().getClassLoader())) {
            System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
            loader.loadClass("ReadmeExample").getMethod("main", String[].class).invoke(null, (Object) new String[0]);
        } finally {
            System.setOut(saved);
        }
        String out = printed.toString(StandardCharsets.UTF_8);
        saved.print("README example printed: " + out);
        assertTrue(out.contains("Tensor[1, 8, 512, 64]"), "unexpected output: " + out);
    }
}
