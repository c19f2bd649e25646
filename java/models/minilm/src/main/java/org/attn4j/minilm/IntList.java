package org.attn4j.minilm;

import java.util.Arrays;

/** A growable int array (token ids) without boxing. */
final class IntList {
    private int[] a = new int[16];
    private int size;

    void add(int v) {
        if (size == a.length) {
            a = Arrays.copyOf(a, size * 2);
        }
        a[size++] = v;
    }

    int size() {
        return size;
    }

    int get(int i) {
        return a[i];
    }

    void truncate(int newSize) {
        size = newSize;
    }

    int[] toArray() {
        return Arrays.copyOf(a, size);
    }
}
