package org.attn4j;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * Loads libattn4j exactly once per class loader (racing first calls included; a second class loader
 * gets a private copy of the file, since the JDK binds one file to one loader): from the path in the system property
 * {@value #PATH_PROPERTY} if set, else from the copy packed in the jar under
 * {@code native/linux-x86_64/}, extracted once to a content-addressed temp folder. Loading with
 * {@link System#load} makes the library's symbols visible to the generated bindings' loader lookup,
 * so no {@code LD_LIBRARY_PATH} is needed. Every API entry calls {@link #ensureLoaded()}.
 *
 * <pre>{@code
 * // java -Dattn4j.library.path=/opt/attn4j/libattn4j.so ...   (use another build)
 * Path p = NativeLibrary.ensureLoaded();
 * }</pre>
 */
public final class NativeLibrary {
    /** System property naming a libattn4j.so to load instead of the bundled one. */
    public static final String PATH_PROPERTY = "attn4j.library.path";

    private static final String RESOURCE = "/native/linux-x86_64/libattn4j.so";
    private static volatile Path loaded;

    private NativeLibrary() {}

    /** Loads the library if this class loader has not yet, and returns the file it came from. */
    public static Path ensureLoaded() {
        Path p = loaded;
        return p != null ? p : load();
    }

    private static synchronized Path load() {
        if (loaded != null) {
            return loaded;
        }
        String override = System.getProperty(PATH_PROPERTY);
        Path lib;
        if (override != null && !override.isBlank()) {
            lib = Path.of(override).toAbsolutePath();
            if (!Files.isRegularFile(lib)) {
                throw new Attn4jException("-D" + PATH_PROPERTY + "=" + override + ": no such file", null);
            }
        } else {
            lib = extractBundled();
        }
        try {
            System.load(lib.toString());
        } catch (UnsatisfiedLinkError e) {
            if (e.getMessage() == null || !e.getMessage().contains("another classloader")) {
                throw new Attn4jException("cannot load " + lib + ": " + e.getMessage(), e);
            }
            // Another class loader (an application server, a plugin system) already loaded this file,
            // and the JDK lets one file belong to one loader: load a private copy for this one.
            lib = privateCopy(lib);
        }
        loaded = lib;
        return lib;
    }

    private static Path privateCopy(Path lib) {
        try {
            Path copy = Files.createTempFile(lib.getParent(), "libattn4j-", ".so");
            Files.copy(lib, copy, StandardCopyOption.REPLACE_EXISTING);
            copy.toFile().deleteOnExit();
            System.load(copy.toString());
            return copy;
        } catch (IOException | UnsatisfiedLinkError e) {
            throw new Attn4jException("cannot load a copy of " + lib + " for a second class loader: " + e.getMessage(), e);
        }
    }

    private static Path extractBundled() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (!os.startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            throw new Attn4jException("attn4j ships a native library for linux-x86_64 only, not " + os + "-" + arch
                    + "; build one with CMake and point -D" + PATH_PROPERTY + " at it", null);
        }
        byte[] bytes;
        try (InputStream in = NativeLibrary.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new Attn4jException("the attn4j jar has no " + RESOURCE
                        + " (built without the native library?); set -D" + PATH_PROPERTY, null);
            }
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw new Attn4jException("cannot read " + RESOURCE + ": " + e.getMessage(), e);
        }
        try {
            String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)).substring(0, 16);
            Path dir = Path.of(System.getProperty("java.io.tmpdir"), "attn4j-" + System.getProperty("user.name", "user") + "-" + hash);
            Path target = dir.resolve("libattn4j.so");
            if (Files.isRegularFile(target) && Files.size(target) == bytes.length) {
                return target;
            }
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, "libattn4j", ".tmp");
            Files.write(tmp, bytes);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            return target;
        } catch (IOException | NoSuchAlgorithmException e) {
            throw new Attn4jException("cannot extract the native library: " + e.getMessage(), e);
        }
    }
}
