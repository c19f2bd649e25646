package org.attn4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The library comes out of the jar's resources (no LD_LIBRARY_PATH) and loads once. */
class NativeLibraryTest {

    @Test
    void loadsTheBundledCopyOnce() throws Exception {
        Path first = NativeLibrary.ensureLoaded();
        assertEquals(first, NativeLibrary.ensureLoaded());
        assertTrue(Files.isRegularFile(first), first.toString());
        if (System.getProperty(NativeLibrary.PATH_PROPERTY) == null) {
            assertTrue(first.getParent().getFileName().toString().startsWith("attn4j-"), first.toString());
            assertTrue(NativeLibrary.class.getResource("/native/linux-x86_64/libattn4j.so") != null);
        }
    }

    @Test
    void reportsVersionAndIsa() {
        assertEquals("0.2.0", Attn4j.version());
        assertTrue(Attn4j.cpuIsa().ordinal() <= Attn4j.bestCpuIsa().ordinal());
        assertTrue(Attn4j.defaultThreads() >= 1);
        if (!Attn4j.cudaAvailable()) {
            assertEquals(0, Attn4j.cudaDeviceCount());
        }
    }
}
