using System.Globalization;
using System.Numerics;

namespace Orrery.Jobs.Cron;

/// <summary>
/// A standard 5-field cron schedule (minute hour day-of-month month day-of-week), read the way Kubernetes
/// CronJobs read it (robfig/cron v3's standard parser), always in UTC.
/// </summary>
/// <remarks>
/// Day of month and day of week follow the classic cron rule: when both are restricted a day matches if either
/// matches; when either is a star (<c>*</c>, <c>?</c>, or <c>*/1</c>) both must match, so the star one does not restrict.
/// As in robfig/cron, <c>?</c> means <c>*</c> in any field. Beyond robfig/cron v3, 7 is accepted as Sunday in the
/// day-of-week field. Times given with <see cref="DateTimeKind.Local"/> are converted to UTC; unspecified ones are taken as UTC.
/// </remarks>
public sealed class CronSchedule
{
    private const string Macros = "@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly";

    private static readonly FieldSpec MinuteField = new("minute", 0, 59, 59, null);
    private static readonly FieldSpec HourField = new("hour", 0, 23, 23, null);
    private static readonly FieldSpec DayOfMonthField = new("day of month", 1, 31, 31, null);
    private static readonly FieldSpec MonthField = new("month", 1, 12, 12,
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]);
    // 7 is accepted as Sunday, but a star or an open-ended step ("a/n") stops at Saturday (6).
    private static readonly FieldSpec DayOfWeekField = new("day of week", 0, 7, 6,
        ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]);

    private readonly ulong _minutes;
    private readonly ulong _hours;
    private readonly ulong _daysOfMonth;
    private readonly ulong _months;
    private readonly ulong _daysOfWeek;
    private readonly bool _dayOfMonthStar;
    private readonly bool _dayOfWeekStar;

    private CronSchedule(string expression, ParsedField minute, ParsedField hour, ParsedField dayOfMonth, ParsedField month, ParsedField dayOfWeek)
    {
        Expression = expression;
        _minutes = minute.Bits;
        _hours = hour.Bits;
        _daysOfMonth = dayOfMonth.Bits;
        _months = month.Bits;
        _daysOfWeek = dayOfWeek.Bits;
        _dayOfMonthStar = dayOfMonth.Star;
        _dayOfWeekStar = dayOfWeek.Star;
    }

    /// <summary>A macro: its own expression, the fields of the schedule it stands for.</summary>
    private CronSchedule(string expression, CronSchedule expanded)
    {
        Expression = expression;
        _minutes = expanded._minutes;
        _hours = expanded._hours;
        _daysOfMonth = expanded._daysOfMonth;
        _months = expanded._months;
        _daysOfWeek = expanded._daysOfWeek;
        _dayOfMonthStar = expanded._dayOfMonthStar;
        _dayOfWeekStar = expanded._dayOfWeekStar;
    }

    /// <summary>The expression as given (surrounding whitespace trimmed).</summary>
    public string Expression { get; }

    /// <summary>Parses a schedule; throws <see cref="CronFormatException"/> naming the bad field and value.</summary>
    public static CronSchedule Parse(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        return TryParse(expression, out var schedule, out var error) ? schedule! : throw new CronFormatException(error!);
    }

    /// <summary>Parses a schedule; on failure <paramref name="error"/> names the bad field and value.</summary>
    public static bool TryParse(string expression, out CronSchedule? schedule, out string? error)
    {
        schedule = null;
        if (expression is null)
        {
            error = "invalid cron schedule: the schedule is missing";
            return false;
        }

        var text = expression.Trim();
        var problem = Build(text, out schedule);
        error = problem is null ? null : $"invalid cron schedule '{expression}': {problem}";
        return problem is null;
    }

    /// <summary>
    /// The first matching minute strictly after <paramref name="utc"/> (seconds of the input are ignored, so
    /// 10:00:30 gives 10:01 at the earliest), or null if none comes within about five years (robfig/cron's limit:
    /// up to the end of the year five years after the start).
    /// </summary>
    public DateTime? NextAfter(DateTime utc)
    {
        var start = FirstCandidate(utc);
        return start is null ? null : Next(start.Value, start.Value.Year + 5);
    }

    /// <summary>Every matching minute after <paramref name="fromExclusive"/> up to and including <paramref name="toInclusive"/>, ascending.</summary>
    public IEnumerable<DateTime> Between(DateTime fromExclusive, DateTime toInclusive) =>
        Enumerate(ToUtc(fromExclusive), ToUtc(toInclusive));

    public override string ToString() => Expression;

    private IEnumerable<DateTime> Enumerate(DateTime fromExclusive, DateTime toInclusive)
    {
        var cursor = fromExclusive;
        while (true)
        {
            var start = FirstCandidate(cursor);
            if (start is null || start.Value > toInclusive)
            {
                yield break;
            }

            // The search is bounded by the range, not by five years, so sparse schedules (Feb 29) are exact here too.
            var next = Next(start.Value, toInclusive.Year);
            if (next is null || next.Value > toInclusive)
            {
                yield break;
            }

            yield return next.Value;
            cursor = next.Value;
        }
    }

    private static DateTime ToUtc(DateTime time) => time.Kind switch
    {
        DateTimeKind.Local => time.ToUniversalTime(),
        DateTimeKind.Unspecified => DateTime.SpecifyKind(time, DateTimeKind.Utc),
        _ => time,
    };

    /// <summary>The minute after the one <paramref name="time"/> falls in, or null past the end of the calendar.</summary>
    private static DateTime? FirstCandidate(DateTime time)
    {
        var ticks = ToUtc(time).Ticks;
        var minute = ticks - (ticks % TimeSpan.TicksPerMinute);
        return minute > DateTime.MaxValue.Ticks - TimeSpan.TicksPerMinute
            ? null
            : new DateTime(minute + TimeSpan.TicksPerMinute, DateTimeKind.Utc);
    }

    /// <summary>The first matching minute at or after <paramref name="start"/> (minute-aligned) in a year up to <paramref name="lastYear"/>.</summary>
    /// <remarks>Skips whole months, days and hours that cannot match; each step looks the next allowed value up in a bit mask.</remarks>
    private DateTime? Next(DateTime start, int lastYear)
    {
        lastYear = Math.Min(lastYear, DateTime.MaxValue.Year);
        int year = start.Year, month = start.Month, day = start.Day, hour = start.Hour, minute = start.Minute;

        while (true)
        {
            // Carry any overflow from the steps below up to the larger units.
            if (minute > 59) { minute = 0; hour++; }
            if (hour > 23) { hour = 0; day++; }
            if (month <= 12 && day > DateTime.DaysInMonth(year, month)) { day = 1; month++; }
            if (month > 12) { month = 1; year++; }
            if (year > lastYear)
            {
                return null;
            }

            var nextMonth = NextBit(_months, month, 12);
            if (nextMonth < 0)
            {
                (month, day, hour, minute) = (13, 1, 0, 0);
                continue;
            }
            if (nextMonth != month)
            {
                (month, day, hour, minute) = (nextMonth, 1, 0, 0);
            }

            var daysInMonth = DateTime.DaysInMonth(year, month);
            var nextDay = day;
            while (nextDay <= daysInMonth && !DayMatches(year, month, nextDay))
            {
                nextDay++;
            }
            if (nextDay > daysInMonth)
            {
                (month, day, hour, minute) = (month + 1, 1, 0, 0);
                continue;
            }
            if (nextDay != day)
            {
                (day, hour, minute) = (nextDay, 0, 0);
            }

            var nextHour = NextBit(_hours, hour, 23);
            if (nextHour < 0)
            {
                (day, hour, minute) = (day + 1, 0, 0);
                continue;
            }
            if (nextHour != hour)
            {
                (hour, minute) = (nextHour, 0);
            }

            var nextMinute = NextBit(_minutes, minute, 59);
            if (nextMinute < 0)
            {
                (hour, minute) = (hour + 1, 0);
                continue;
            }

            return new DateTime(year, month, day, hour, nextMinute, 0, DateTimeKind.Utc);
        }
    }

    private bool DayMatches(int year, int month, int day)
    {
        var dayOfMonth = (_daysOfMonth >> day & 1) != 0;
        var dayOfWeek = (_daysOfWeek >> (int)new DateTime(year, month, day).DayOfWeek & 1) != 0;
        return _dayOfMonthStar || _dayOfWeekStar ? dayOfMonth && dayOfWeek : dayOfMonth || dayOfWeek;
    }

    /// <summary>The smallest set bit at or above <paramref name="from"/> (and at most <paramref name="max"/>), or -1.</summary>
    private static int NextBit(ulong bits, int from, int max)
    {
        if (from > max)
        {
            return -1;
        }

        var rest = bits >> from;
        if (rest == 0)
        {
            return -1;
        }

        var next = from + BitOperations.TrailingZeroCount(rest);
        return next <= max ? next : -1;
    }

    /// <summary>Builds the schedule from trimmed text; returns the problem (without the "invalid cron schedule" prefix) or null.</summary>
    private static string? Build(string text, out CronSchedule? schedule)
    {
        schedule = null;
        if (text.Length == 0)
        {
            return "the schedule is empty";
        }

        if (text.StartsWith("TZ=", StringComparison.OrdinalIgnoreCase) || text.StartsWith("CRON_TZ=", StringComparison.OrdinalIgnoreCase))
        {
            return "time zones are not supported; schedules are in UTC";
        }

        if (text[0] == '@')
        {
            return BuildMacro(text, out schedule);
        }

        var fields = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length != 5)
        {
            return $"expected 5 fields (minute hour day-of-month month day-of-week), found {fields.Length}";
        }

        FieldSpec[] specs = [MinuteField, HourField, DayOfMonthField, MonthField, DayOfWeekField];
        var parsed = new ParsedField[specs.Length];
        for (var i = 0; i < specs.Length; i++)
        {
            var problem = ParseField(fields[i], specs[i], out parsed[i]);
            if (problem is not null)
            {
                return problem;
            }
        }

        schedule = new CronSchedule(text, parsed[0], parsed[1], parsed[2], parsed[3], parsed[4]);
        return null;
    }

    private static string? BuildMacro(string text, out CronSchedule? schedule)
    {
        schedule = null;
        var name = text.ToLowerInvariant();
        string? equivalent = name switch
        {
            "@yearly" or "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" or "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            _ => null,
        };

        if (equivalent is null)
        {
            var word = text.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries)[0].ToLowerInvariant();
            return word switch
            {
                "@every" => "@every intervals are not supported by Orrery; use a 5-field schedule such as '*/30 * * * *'",
                "@reboot" => "@reboot is not supported (Kubernetes CronJobs do not support it either)",
                _ => $"unknown macro '{text}'; expected one of {Macros}",
            };
        }

        var problem = Build(equivalent, out var expanded);
        if (problem is not null || expanded is null)
        {
            throw new InvalidOperationException($"Built-in macro {text} expands to an invalid schedule: {problem}");
        }

        schedule = new CronSchedule(text, expanded);
        return null;
    }

    /// <summary>Parses one field: a comma-separated list of <c>*</c>, <c>?</c>, <c>a</c>, <c>a-b</c>, each optionally with <c>/step</c>.</summary>
    private static string? ParseField(string text, FieldSpec field, out ParsedField parsed)
    {
        parsed = default;
        ulong bits = 0;
        var star = false;

        foreach (var element in text.Split(','))
        {
            if (element.Length == 0)
            {
                return $"{field.Name} field '{text}' has an empty list element";
            }

            var slash = element.Split('/');
            if (slash.Length > 2)
            {
                return $"{field.Name} value '{element}' has more than one '/'";
            }

            var step = 1;
            var hasStep = slash.Length == 2;
            if (hasStep)
            {
                var stepProblem = ParseStep(slash[1], element, field, out step);
                if (stepProblem is not null)
                {
                    return stepProblem;
                }
            }

            int start, end;
            var range = slash[0];
            if (range is "*" or "?")
            {
                (start, end) = (field.Min, field.StarMax);
                // As in robfig/cron: "*" and "*/1" leave the field unrestricted (for the day-of-month/day-of-week rule), "*/2" does not.
                star |= step == 1;
            }
            else
            {
                var dash = range.Split('-');
                if (dash.Length > 2)
                {
                    return $"{field.Name} value '{element}' has more than one '-'";
                }

                var problem = ParseValue(dash[0], element, field, out start);
                if (problem is not null)
                {
                    return problem;
                }

                if (dash.Length == 2)
                {
                    problem = ParseValue(dash[1], element, field, out end);
                    if (problem is not null)
                    {
                        return problem;
                    }

                    if (start > end)
                    {
                        return $"{field.Name} range '{range}' is reversed ({start} is after {end})";
                    }
                }
                else
                {
                    // "a/n" runs from a to the field's maximum.
                    end = hasStep ? Math.Max(start, field.StarMax) : start;
                }
            }

            for (long value = start; value <= end; value += step)
            {
                bits |= 1UL << (int)value;
            }
        }

        if (ReferenceEquals(field, DayOfWeekField) && (bits & (1UL << 7)) != 0)
        {
            bits = (bits & ~(1UL << 7)) | 1UL; // 7 is Sunday
        }

        parsed = new ParsedField(bits, star);
        return null;
    }

    private static string? ParseValue(string text, string element, FieldSpec field, out int value)
    {
        value = 0;
        if (text.Length == 0)
        {
            return $"{field.Name} value '{element}' is missing a number";
        }

        if (field.Names is not null)
        {
            var index = Array.FindIndex(field.Names, name => name.Equals(text, StringComparison.OrdinalIgnoreCase));
            if (index >= 0)
            {
                value = index + field.Min;
                return null;
            }
        }

        if (!text.All(char.IsAsciiDigit))
        {
            return field.Names is null
                ? $"{field.Name} value '{text}' is not a number"
                : $"{field.Name} value '{text}' is not a number or a name ({field.Names[0]}–{field.Names[^1]})";
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) || value < field.Min || value > field.Max)
        {
            return $"{field.Name} value {text.TrimStart('0').PadLeft(1, '0')} is out of range {field.Min}–{field.Max}";
        }

        return null;
    }

    private static string? ParseStep(string text, string element, FieldSpec field, out int step)
    {
        step = 0;
        if (text.Length == 0 || !text.All(char.IsAsciiDigit))
        {
            return $"{field.Name} step '{text}' in '{element}' is not a number";
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out step))
        {
            step = int.MaxValue; // larger than any field: only the start matches
        }

        return step == 0 ? $"{field.Name} step 0 in '{element}' must be a positive number" : null;
    }

    /// <param name="StarMax">Where <c>*</c> and an open-ended step stop (below <paramref name="Max"/> only for day of week, whose 7 repeats Sunday).</param>
    private sealed record FieldSpec(string Name, int Min, int Max, int StarMax, string[]? Names);

    private readonly record struct ParsedField(ulong Bits, bool Star);
}

/// <summary>A cron schedule that cannot be parsed; the message names the field and value at fault.</summary>
public sealed class CronFormatException(string message) : FormatException(message);
