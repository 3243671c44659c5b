using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Orrery.FunctionalTests.Jobs;

/// <summary>Where the real CLI would crash with a Python traceback (KeyError, TypeError, ValueError).</summary>
public sealed class KbatchCrashException(string message) : Exception(message);

/// <summary>
/// A port of how <c>kbatch job list -o table</c> derives a row (protocol notes §3.7), crashing where the CLI
/// crashes: a missing key is a KeyError, a null <c>start_time</c> a TypeError, no count above zero a ValueError,
/// null <c>conditions</c> on a failed job a TypeError, a naive or <c>Z</c> timestamp fails Python &lt; 3.11.
/// </summary>
public static partial class KbatchTable
{
    public static (string Name, string Submitted, string Status, string Duration) Row(JsonElement job, DateTimeOffset now) =>
        (Key(Key(job, "metadata"), "name").GetString()!, Key(Key(job, "metadata"), "creation_timestamp").GetString()!, Status(job),
            Duration(job, now));

    public static string Status(JsonElement job)
    {
        var status = Key(job, "status");
        var failed = Count(status, "failed");
        var ready = Count(status, "ready");
        var active = Count(status, "active");
        var succeeded = Count(status, "succeeded");
        if (failed > 0)
            return "failed";
        if (ready > 0)
            return "running";
        if (active > 0)
            return "pending";
        if (succeeded > 0)
            return "done";
        throw new KbatchCrashException("ValueError: no count above zero in " + status.GetRawText());
    }

    public static string Duration(JsonElement job, DateTimeOffset now)
    {
        var status = Key(job, "status");
        var start = FromIsoFormat(Key(status, "start_time"), "start_time");
        DateTimeOffset end;
        if (Count(status, "succeeded") != 0)
            end = FromIsoFormat(Key(status, "completion_time"), "completion_time");
        else if (Count(status, "failed") != 0)
        {
            var conditions = Key(status, "conditions");
            if (conditions.ValueKind != JsonValueKind.Array)
                throw new KbatchCrashException($"TypeError: 'NoneType' object is not iterable (conditions of a failed job: {conditions.GetRawText()})");
            var failedCondition = conditions.EnumerateArray().FirstOrDefault(c => Key(c, "type").GetString() == "Failed");
            if (failedCondition.ValueKind == JsonValueKind.Undefined)
                return "-";
            end = FromIsoFormat(Key(failedCondition, "last_transition_time"), "last_transition_time");
        }
        else
            end = now;
        return TimedeltaText(end - start);
    }

    /// <summary>Python's <c>str(timedelta)</c>, microseconds dropped: <c>0:01:30</c>, <c>1 day, 2:03:04</c>.</summary>
    public static string TimedeltaText(TimeSpan span)
    {
        var seconds = (long)Math.Floor(span.TotalSeconds);
        var days = (long)Math.Floor(seconds / 86400.0);
        var rest = seconds - days * 86400;
        var clock = string.Create(CultureInfo.InvariantCulture, $"{rest / 3600}:{rest % 3600 / 60:00}:{rest % 60:00}");
        return days == 0 ? clock : string.Create(CultureInfo.InvariantCulture, $"{days} day{(Math.Abs(days) == 1 ? "" : "s")}, {clock}");
    }

    private static JsonElement Key(JsonElement element, string key) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(key, out var value) ? value
            : throw new KbatchCrashException($"KeyError: '{key}'");

    private static long Count(JsonElement status, string key)
    {
        var value = Key(status, key);
        return value.ValueKind switch
        {
            JsonValueKind.Null => 0,
            JsonValueKind.Number => value.GetInt64(),
            _ => throw new KbatchCrashException($"TypeError: status.{key} is {value.GetRawText()}"),
        };
    }

    /// <summary><c>datetime.fromisoformat</c> of Python 3.7–3.10, then made to subtract from an aware time.</summary>
    private static DateTimeOffset FromIsoFormat(JsonElement value, string what)
    {
        if (value.ValueKind != JsonValueKind.String)
            throw new KbatchCrashException($"TypeError: fromisoformat: argument must be str ({what} is {value.GetRawText()})");
        var text = value.GetString()!;
        var match = IsoFormat().Match(text);
        if (!match.Success)
            throw new KbatchCrashException($"ValueError: Invalid isoformat string: '{text}' ({what})");
        if (!match.Groups["offset"].Success)
            throw new KbatchCrashException($"TypeError: can't subtract offset-naive and offset-aware datetimes ({what} '{text}')");
        return DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{3}(\d{3})?)?(?<offset>[+-]\d{2}:\d{2})?$")]
    private static partial Regex IsoFormat();
}
