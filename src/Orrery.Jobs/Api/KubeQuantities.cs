using System.Globalization;

namespace Orrery.Jobs.Api;

/// <summary>Kubernetes resource quantities: cores ("2", "0.5", "500m") and bytes ("27G", "1Gi", "512M", "1e9").</summary>
public static class KubeQuantities
{
    public static double? Cores(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
            return null;
        var milli = text.EndsWith('m');
        if (!double.TryParse(milli ? text[..^1] : text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < 0)
            throw new FormatException($"cpu quantity '{text}' is not a number of cores (e.g. 2, 0.5, 500m)");
        return milli ? value / 1000 : value;
    }

    public static long? Bytes(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
            return null;
        (string Suffix, double Factor)[] suffixes =
        [
            ("Ki", 1L << 10), ("Mi", 1L << 20), ("Gi", 1L << 30), ("Ti", 1L << 40),
            ("k", 1e3), ("K", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12),
        ];
        foreach (var (suffix, factor) in suffixes)
            if (text.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var scaled) && scaled >= 0)
                return (long)(scaled * factor);
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var plain) && plain >= 0)
            return (long)plain;
        throw new FormatException($"memory quantity '{text}' is not a size (e.g. 512Mi, 2G, 1e9)");
    }
}
