package org.attn4j.minilm;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;

/** The README's embedding example compiles and runs as printed (imports on top, the rest inside main) and its numbers make sense. */
class ReadmeEmbedExampleTest {

    @Test
    void readmeEmbeddingExampleCompilesAndRuns() throws Exception {
        String readme = Files.readString(Path.of(System.getProperty("attn4j.readme", "../../../README.md")));
        int start = readme.indexOf("<!-- embed-example:start -->");
        int end = readme.indexOf("<!-- embed-example:end -->");
        assertTrue(start >= 0 && end > start, "README.md has no <!-- embed-example:start/end --> block");
        String block = readme.substring(start, end);
        block = block.substring(block.indexOf("```java") + 7, block.lastIndexOf("```"));
        List<String> lines = block.lines().toList();
        String imports = lines.stream().filter(l -> l.startsWith("import ")).collect(Collectors.joining("\n"));
        String body = lines.stream().filter(l -> !l.startsWith("import ")).collect(Collectors.joining("\n"));
        String source = imports + "\npublic class ReadmeEmbedExample {\n public static void main(String[] args) {\n" + body
                + "\n }\n}\n";

        Path dir = Files.createTempDirectory("attn4j-minilm-readme");
        Files.writeString(dir.resolve("ReadmeEmbedExample.java"), source);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
        int rc = javac.run(null, diagnostics, diagnostics, "-d", dir.toString(), "-cp", System.getProperty("java.class.path"),
                dir.resolve("ReadmeEmbedExample.java").toString());
        assertTrue(rc == 0, "README example does not compile:\n" + diagnostics + "\n" + source);

        PrintStream saved = System.out;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        Locale locale = Locale.getDefault();
        try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.toUri().toURL()}, getClass().getClassLoader())) {
            Locale.setDefault(Locale.ROOT);   // the example's printf: a decimal point
            System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
            loader.loadClass("ReadmeEmbedExample").getMethod("main", String[].class).invoke(null, (Object) new String[0]);
        } finally {
            System.setOut(saved);
            Locale.setDefault(locale);
        }
        String out = printed.toString(StandardCharsets.UTF_8);
        saved.print("README embedding example printed: " + out);
        Matcher m = Pattern.compile("cat~kitten (-?[0-9.]+), cat~stocks (-?[0-9.]+)").matcher(out);
        assertTrue(m.find(), "unexpected output: " + out);
        double close = Double.parseDouble(m.group(1)), far = Double.parseDouble(m.group(2));
        assertTrue(close > 0.5 && far < 0.2, "similar sentences should score high, unrelated low: " + out);
    }
}
