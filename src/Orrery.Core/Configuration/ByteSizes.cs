using Orrery.Core.Configuration;
using System.Globalization;

namespace Orrery.Core.Configuration;

/// <summary>JupyterHub's byte sizes: a number with an optional K, M, G or T suffix (powers of 1024).</summary>
public static class ByteSizes
{
    public static long? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
            return null;
        text = text.Trim();
        var multiplier = char.ToUpperInvariant(text[^1]) switch
        {
            'K' => 1L << 10,
            'M' => 1L << 20,
            'G' => 1L << 30,
            'T' => 1L << 40,
            _ => 1L,
        };
        var number = multiplier == 1 ? text : text[..^1];
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value <= 0 || double.IsInfinity(value))
            throw new FormatException($"'{text}' is not a size (a positive number with an optional K, M, G or T suffix)");
        return (long)(value * multiplier);
    }

    /// <summary>For people: 1.5 GiB, 300 MiB, 12 KiB, 17 B.</summary>
    public static string Format(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? $"{bytes} B" : value.ToString(value < 10 ? "0.#" : "0", CultureInfo.InvariantCulture) + " " + units[unit];
    }
}
