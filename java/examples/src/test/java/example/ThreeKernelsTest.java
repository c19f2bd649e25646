package example;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The example runs against the installed artifact and each kernel gives a sensible answer. */
class ThreeKernelsTest {
    @Test
    void everyKernelRuns() {
        PrintStream saved = System.out;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
            ThreeKernels.main(new String[0]);
        } finally {
            System.setOut(saved);
        }
        String out = printed.toString(StandardCharsets.UTF_8);
        saved.print(out);
        assertTrue(out.matches("(?s)flash\\s+out\\[0,0,100,0\\] = -?\\d+\\.\\d{5}\\R.*"), out);
        var sale = java.util.regex.Pattern.compile("sale\\s+density (\\S+), error vs flash (\\S+)").matcher(out);
        assertTrue(sale.find(), out);
        double density = Double.parseDouble(sale.group(1)), error = Double.parseDouble(sale.group(2));
        assertTrue(density > 0 && density < 0.6, "density " + density);
        assertTrue(error < 0.02, "error " + error);
        var lightning = java.util.regex.Pattern.compile("lightning\\s+out\\[0,0,4095,0\\] = (\\S+), decode out\\[0,0,0,0\\] = (\\S+)")
                .matcher(out);
        assertTrue(lightning.find(), out);
        double decoded = Double.parseDouble(lightning.group(2));
        assertTrue(Double.isFinite(decoded) && decoded != 0, "decode reads the carried state: " + decoded);
    }
}
