package org.attn4j.cli;

import java.util.Locale;
import org.attn4j.DType;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** {@code --dtype}: the storage types the CPU kernels take (f16 runs on CUDA devices only). */
final class StorageType implements ITypeConverter<DType> {
    @Override
    public DType convert(String value) {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "f32" -> DType.F32;
            case "bf16" -> DType.BF16;
            default -> throw new TypeConversionException("expected f32 or bf16 but was '" + value + "'");
        };
    }
}
