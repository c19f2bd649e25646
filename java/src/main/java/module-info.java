/**
 * attn4j: attention kernels over off-heap tensors. Grant native access to this module and its bindings
 * ({@code --enable-native-access=org.attn4j,org.attn4j.bindings}); on the class path,
 * {@code --enable-native-access=ALL-UNNAMED}.
 */
module org.attn4j {
    requires org.attn4j.bindings;
    requires static org.knowm.xchart;  // the CLI's --plot only
    requires static info.picocli;       // the CLI's flags (the CLI runs with it on its path)
    requires jdk.management;            // the CLI's check of available memory
    exports org.attn4j;
    opens org.attn4j.cli to info.picocli;
}
