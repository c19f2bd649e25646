package org.attn4j.cli;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** The PNG a {@code --plot} flag names, checked before a run so that a bad path does not waste it. */
final class PlotFile {
    private PlotFile() {}

    /** The file written for {@code path}: XChart adds {@code .png} when it is missing. */
    static String target(String path) {
        return path.endsWith(".png") ? path : path + ".png";
    }

    /** Null when XChart is on the classpath and the target of {@code path} can be created or overwritten, else why not. */
    static String problem(String path) {
        try {
            Class.forName("org.knowm.xchart.BitmapEncoder", false, PlotFile.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            return "plots need XChart (org.knowm.xchart:xchart) on the classpath";
        }
        Path file;
        try {
            file = Path.of(target(path)).toAbsolutePath();
        } catch (InvalidPathException e) {
            return "not a valid path (" + e.getReason() + ")";
        }
        if (Files.isDirectory(file)) {
            return file + " is a directory";
        }
        if (file.getParent() != null && !Files.isDirectory(file.getParent())) {
            return "no directory " + file.getParent();
        }
        boolean existed = Files.exists(file);
        try (FileChannel probe = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.CREATE)) {
            return null;
        } catch (IOException e) {
            return "cannot create " + file + " (" + reason(e) + ")";
        } finally {
            if (!existed) {
                try {
                    Files.deleteIfExists(file);
                } catch (IOException e) {
                    // the probe's empty file stays; the plot overwrites it
                }
            }
        }
    }

    private static String reason(IOException e) {
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return switch (e) {
            case AccessDeniedException a -> "permission denied";
            case NoSuchFileException n -> "no such file or directory";
            default -> e.toString();
        };
    }
}
