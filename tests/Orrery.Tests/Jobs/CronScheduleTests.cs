using System.Globalization;
using Orrery.Jobs.Cron;

namespace Orrery.Tests.Jobs;

public class CronScheduleTests
{
    private static DateTime Utc(int year, int month, int day, int hour = 0, int minute = 0, int second = 0) =>
        new(year, month, day, hour, minute, second, DateTimeKind.Utc);

    private static DateTime? Next(string expression, DateTime after) => CronSchedule.Parse(expression).NextAfter(after);

    /// <summary>The minutes of 10:00–10:59 on 13 June 2025 that the schedule matches.</summary>
    private static int[] MinutesOfAnHour(string expression) =>
        [.. CronSchedule.Parse(expression).Between(Utc(2025, 6, 13, 9, 59), Utc(2025, 6, 13, 10, 59)).Select(t => t.Minute)];

    // ---- parsing, one form at a time ----

    [Theory]
    [InlineData("* 10 * * *", new[] { -1 })] // -1: every minute
    [InlineData("? 10 * * *", new[] { -1 })]
    [InlineData("5 10 * * *", new[] { 5 })]
    [InlineData("05 10 * * *", new[] { 5 })]
    [InlineData("10-12 10 * * *", new[] { 10, 11, 12 })]
    [InlineData("*/15 10 * * *", new[] { 0, 15, 30, 45 })]
    [InlineData("*/1 10 * * *", new[] { -1 })]
    [InlineData("*/45 10 * * *", new[] { 0, 45 })]
    [InlineData("*/90 10 * * *", new[] { 0 })]
    [InlineData("10-30/10 10 * * *", new[] { 10, 20, 30 })]
    [InlineData("50/3 10 * * *", new[] { 50, 53, 56, 59 })]
    [InlineData("59/5 10 * * *", new[] { 59 })]
    [InlineData("1,2,40-42,*/30 10 * * *", new[] { 0, 1, 2, 30, 40, 41, 42 })]
    [InlineData("0-59/20,7 10 * * *", new[] { 0, 7, 20, 40 })]
    [InlineData("  3  10\t* *  * ", new[] { 3 })]
    public void Parse_MinuteForms(string expression, int[] minutes)
    {
        var expected = minutes is [-1] ? Enumerable.Range(0, 60).ToArray() : minutes;
        MinutesOfAnHour(expression).ShouldBe(expected);
    }

    [Theory]
    [InlineData("0 * * * *", 24)]
    [InlineData("0 */6 * * *", 4)]
    [InlineData("0 9-17 * * *", 9)]
    [InlineData("0 9-17/4 * * *", 3)]
    [InlineData("0 20/2 * * *", 2)]
    [InlineData("0 0,12 * * *", 2)]
    [InlineData("*/30 1 * * *", 2)]
    public void Parse_HourForms_CountOverADay(string expression, int count) =>
        CronSchedule.Parse(expression).Between(Utc(2025, 6, 13), Utc(2025, 6, 14)).Count().ShouldBe(count);

    [Fact]
    public void Between_EverySixHoursOverADay_FourTimes() =>
        CronSchedule.Parse("0 */6 * * *").Between(Utc(2025, 6, 12, 23, 59), Utc(2025, 6, 13, 23, 59)).ShouldBe(
            [Utc(2025, 6, 13, 0, 0), Utc(2025, 6, 13, 6, 0), Utc(2025, 6, 13, 12, 0), Utc(2025, 6, 13, 18, 0)]);

    [Fact]
    public void Between_FromIsExclusiveToIsInclusive()
    {
        var schedule = CronSchedule.Parse("0 */6 * * *");
        schedule.Between(Utc(2025, 6, 13, 0, 0), Utc(2025, 6, 13, 12, 0)).ShouldBe([Utc(2025, 6, 13, 6, 0), Utc(2025, 6, 13, 12, 0)]);
        schedule.Between(Utc(2025, 6, 13, 1, 0), Utc(2025, 6, 13, 5, 59)).ShouldBeEmpty();
        schedule.Between(Utc(2025, 6, 14), Utc(2025, 6, 13)).ShouldBeEmpty();
    }

    [Fact]
    public void Between_NotLimitedToFiveYears_LeapDaysAcross2100()
    {
        // 2100 is not a leap year: 2096 and 2104 are eight years apart, more than NextAfter looks ahead.
        CronSchedule.Parse("0 0 29 2 *").Between(Utc(2090, 1, 1), Utc(2110, 1, 1))
            .ShouldBe([Utc(2092, 2, 29), Utc(2096, 2, 29), Utc(2104, 2, 29), Utc(2108, 2, 29)]);
        CronSchedule.Parse("0 0 29 2 *").NextAfter(Utc(2096, 3, 1)).ShouldBeNull();
    }

    [Theory]
    [InlineData("0 12 1 JAN,jul *", 2)]
    [InlineData("0 12 1 Jan-Mar *", 3)]
    [InlineData("0 12 1 */4 *", 3)]
    [InlineData("0 12 1 feb/5 *", 3)]
    [InlineData("0 12 1 1,DEC *", 2)]
    public void Parse_MonthNames_CountOverAYear(string expression, int count) =>
        CronSchedule.Parse(expression).Between(Utc(2024, 12, 31), Utc(2025, 12, 31)).Count().ShouldBe(count);

    [Theory]
    [InlineData("0 9 * * mon-FRI", "Mon,Tue,Wed,Thu,Fri")]
    [InlineData("0 9 * * 1-5", "Mon,Tue,Wed,Thu,Fri")]
    [InlineData("0 9 * * SUN", "Sun")]
    [InlineData("0 9 * * 0", "Sun")]
    [InlineData("0 9 * * 7", "Sun")]
    [InlineData("0 9 * * 5-7", "Sun,Fri,Sat")]
    [InlineData("0 9 * * 0-7", "Sun,Mon,Tue,Wed,Thu,Fri,Sat")]
    [InlineData("0 9 * * sat,7", "Sun,Sat")]
    [InlineData("0 9 * * */2", "Sun,Tue,Thu,Sat")]
    [InlineData("0 9 * * 1/2", "Mon,Wed,Fri")]
    [InlineData("0 9 * * Tue/2", "Tue,Thu,Sat")]
    [InlineData("0 9 ? * wed", "Wed")]
    [InlineData("0 9 * * ?", "Sun,Mon,Tue,Wed,Thu,Fri,Sat")]
    public void Parse_Weekdays_OverAWeek(string expression, string days)
    {
        // Sunday 15 June 2025 to Saturday 21 June 2025.
        var times = CronSchedule.Parse(expression).Between(Utc(2025, 6, 14, 23, 59), Utc(2025, 6, 21, 23, 59)).ToList();
        string.Join(",", times.Select(t => t.ToString("ddd", CultureInfo.InvariantCulture))).ShouldBe(days);
        times.ShouldAllBe(t => t.Hour == 9 && t.Minute == 0);
    }

    [Theory]
    [InlineData("@yearly", "0 0 1 1 *")]
    [InlineData("@annually", "0 0 1 1 *")]
    [InlineData("@monthly", "0 0 1 * *")]
    [InlineData("@weekly", "0 0 * * 0")]
    [InlineData("@daily", "0 0 * * *")]
    [InlineData("@midnight", "0 0 * * *")]
    [InlineData("@hourly", "0 * * * *")]
    [InlineData("@Daily", "0 0 * * *")]
    public void Parse_Macros_SameAsTheirFields(string macro, string fields)
    {
        var schedule = CronSchedule.Parse(macro);
        schedule.Expression.ShouldBe(macro);
        var start = Utc(2025, 6, 13, 10, 15);
        schedule.Between(start, start.AddYears(2)).ShouldBe(CronSchedule.Parse(fields).Between(start, start.AddYears(2)));
    }

    [Theory]
    [InlineData("@hourly", "2025-06-13T11:00:00")]
    [InlineData("@daily", "2025-06-14T00:00:00")]
    [InlineData("@midnight", "2025-06-14T00:00:00")]
    [InlineData("@weekly", "2025-06-15T00:00:00")]
    [InlineData("@monthly", "2025-07-01T00:00:00")]
    [InlineData("@yearly", "2026-01-01T00:00:00")]
    [InlineData("@annually", "2026-01-01T00:00:00")]
    public void NextAfter_Macros(string macro, string expected) =>
        Next(macro, Utc(2025, 6, 13, 10, 15)).ShouldBe(DateTime.Parse(expected, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal));

    [Fact]
    public void Expression_IsTheTrimmedInput()
    {
        CronSchedule.Parse(" */5 * * * * ").Expression.ShouldBe("*/5 * * * *");
        CronSchedule.Parse("0 22 * * 1-5").ToString().ShouldBe("0 22 * * 1-5");
    }

    // ---- errors ----

    [Theory]
    [InlineData("61 * * * *", "minute value 61 is out of range 0–59")]
    [InlineData("* 24 * * *", "hour value 24 is out of range 0–23")]
    [InlineData("* * 0 * *", "day of month value 0 is out of range 1–31")]
    [InlineData("* * 32 * *", "day of month value 32 is out of range 1–31")]
    [InlineData("* * * 0 *", "month value 0 is out of range 1–12")]
    [InlineData("* * * 13 *", "month value 13 is out of range 1–12")]
    [InlineData("* * * * 8", "day of week value 8 is out of range 0–7")]
    [InlineData("0-60 * * * *", "minute value 60 is out of range 0–59")]
    [InlineData("99999999999 * * * *", "minute value 99999999999 is out of range 0–59")]
    [InlineData("*/0 * * * *", "minute step 0 in '*/0' must be a positive number")]
    [InlineData("* 1-5/0 * * *", "hour step 0 in '1-5/0' must be a positive number")]
    [InlineData("* */x * * *", "hour step 'x' in '*/x' is not a number")]
    [InlineData("* */ * * *", "hour step '' in '*/' is not a number")]
    [InlineData("* 5-2 * * *", "hour range '5-2' is reversed (5 is after 2)")]
    [InlineData("* * * DEC-JAN *", "month range 'DEC-JAN' is reversed (12 is after 1)")]
    [InlineData("* * * * 7-1", "day of week range '7-1' is reversed (7 is after 1)")]
    [InlineData("x * * * *", "minute value 'x' is not a number")]
    [InlineData("JAN * * * *", "minute value 'JAN' is not a number")]
    [InlineData("* * MON * *", "day of month value 'MON' is not a number")]
    [InlineData("* * * FOO *", "month value 'FOO' is not a number or a name (JAN–DEC)")]
    [InlineData("* * * * MON-FOO", "day of week value 'FOO' is not a number or a name (SUN–SAT)")]
    [InlineData("* * * * MONDAY", "day of week value 'MONDAY' is not a number or a name (SUN–SAT)")]
    [InlineData("+5 * * * *", "minute value '+5' is not a number")]
    [InlineData("-1 * * * *", "minute value '-1' is missing a number")]
    [InlineData("1- * * * *", "minute value '1-' is missing a number")]
    [InlineData("1-2-3 * * * *", "minute value '1-2-3' has more than one '-'")]
    [InlineData("*/2/3 * * * *", "minute value '*/2/3' has more than one '/'")]
    [InlineData("1,,2 * * * *", "minute field '1,,2' has an empty list element")]
    [InlineData("* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), found 4")]
    [InlineData("0 * * * * *", "expected 5 fields (minute hour day-of-month month day-of-week), found 6")]
    [InlineData("", "the schedule is empty")]
    [InlineData("   ", "the schedule is empty")]
    [InlineData("@every 1h", "@every intervals are not supported by Orrery; use a 5-field schedule such as '*/30 * * * *'")]
    [InlineData("@reboot", "@reboot is not supported (Kubernetes CronJobs do not support it either)")]
    [InlineData("@weekday", "unknown macro '@weekday'; expected one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly")]
    [InlineData("@daily 5", "unknown macro '@daily 5'; expected one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly")]
    [InlineData("TZ=Europe/Paris 0 * * * *", "time zones are not supported; schedules are in UTC")]
    [InlineData("CRON_TZ=UTC 0 * * * *", "time zones are not supported; schedules are in UTC")]
    public void Parse_Invalid_MessageNamesTheProblem(string expression, string problem)
    {
        var expected = $"invalid cron schedule '{expression}': {problem}";

        var exception = Should.Throw<CronFormatException>(() => CronSchedule.Parse(expression));
        exception.Message.ShouldBe(expected);
        exception.ShouldBeAssignableTo<FormatException>();

        CronSchedule.TryParse(expression, out var schedule, out var error).ShouldBeFalse();
        schedule.ShouldBeNull();
        error.ShouldBe(expected);
    }

    [Fact]
    public void TryParse_Valid_ScheduleAndNoError()
    {
        CronSchedule.TryParse("0 22 * * 1-5", out var schedule, out var error).ShouldBeTrue();
        error.ShouldBeNull();
        schedule!.Expression.ShouldBe("0 22 * * 1-5");
    }

    [Fact]
    public void TryParse_Null_FalseWithAnError()
    {
        CronSchedule.TryParse(null!, out var schedule, out var error).ShouldBeFalse();
        schedule.ShouldBeNull();
        error.ShouldNotBeNullOrEmpty();
    }

    // ---- NextAfter ----

    [Fact]
    public void NextAfter_EveryMinute_TheNextMinute()
    {
        Next("* * * * *", Utc(2025, 6, 13, 10, 0)).ShouldBe(Utc(2025, 6, 13, 10, 1));
        Next("* * * * *", Utc(2025, 12, 31, 23, 59, 59)).ShouldBe(Utc(2026, 1, 1, 0, 0));
    }

    [Fact]
    public void NextAfter_IgnoresSecondsOfTheInput()
    {
        Next("* * * * *", Utc(2025, 6, 13, 10, 0, 30)).ShouldBe(Utc(2025, 6, 13, 10, 1));
        Next("* * * * *", Utc(2025, 6, 13, 10, 0).AddTicks(1)).ShouldBe(Utc(2025, 6, 13, 10, 1));
        Next("* * * * *", Utc(2025, 6, 13, 10, 0).AddTicks(-1)).ShouldBe(Utc(2025, 6, 13, 10, 0));
    }

    [Fact]
    public void NextAfter_IsStrictlyAfter_AMatchingMinuteGivesTheNextOne()
    {
        Next("*/15 * * * *", Utc(2025, 6, 13, 10, 15)).ShouldBe(Utc(2025, 6, 13, 10, 30));
        Next("30 2 * * *", Utc(2025, 6, 13, 2, 30)).ShouldBe(Utc(2025, 6, 14, 2, 30));
    }

    [Fact]
    public void NextAfter_ResultIsUtcWithNoSeconds()
    {
        var next = Next("*/15 * * * *", Utc(2025, 6, 13, 10, 7, 42).AddTicks(12345))!.Value;
        next.Kind.ShouldBe(DateTimeKind.Utc);
        next.ShouldBe(Utc(2025, 6, 13, 10, 15));
    }

    [Fact]
    public void NextAfter_UnspecifiedKind_TakenAsUtc() =>
        Next("0 * * * *", new DateTime(2025, 6, 13, 10, 15, 0, DateTimeKind.Unspecified)).ShouldBe(Utc(2025, 6, 13, 11, 0));

    [Theory]
    [InlineData(10, 7, "2025-06-13T10:15:00")]
    [InlineData(10, 45, "2025-06-13T11:00:00")]
    [InlineData(23, 50, "2025-06-14T00:00:00")]
    public void NextAfter_EveryFifteenMinutes(int hour, int minute, string expected) =>
        Next("*/15 * * * *", Utc(2025, 6, 13, hour, minute)).ShouldBe(DateTime.Parse(expected, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal));

    [Fact]
    public void NextAfter_WeekdaysAt22_TheKbatchExample_SkipsTheWeekend()
    {
        // Friday 13 June 2025.
        var schedule = CronSchedule.Parse("0 22 * * 1-5");
        schedule.NextAfter(Utc(2025, 6, 13, 21, 59)).ShouldBe(Utc(2025, 6, 13, 22, 0));
        schedule.NextAfter(Utc(2025, 6, 13, 22, 0)).ShouldBe(Utc(2025, 6, 16, 22, 0));
        schedule.NextAfter(Utc(2025, 6, 14, 12, 0)).ShouldBe(Utc(2025, 6, 16, 22, 0));
        schedule.Between(Utc(2025, 6, 13), Utc(2025, 6, 20)).ShouldBe(
            [Utc(2025, 6, 13, 22, 0), Utc(2025, 6, 16, 22, 0), Utc(2025, 6, 17, 22, 0), Utc(2025, 6, 18, 22, 0), Utc(2025, 6, 19, 22, 0)]);
    }

    [Fact]
    public void NextAfter_DailyAt0230()
    {
        Next("30 2 * * *", Utc(2025, 6, 13, 1, 0)).ShouldBe(Utc(2025, 6, 13, 2, 30));
        Next("30 2 * * *", Utc(2025, 6, 13, 2, 31)).ShouldBe(Utc(2025, 6, 14, 2, 30));
        Next("30 2 * * *", Utc(2025, 12, 31, 3, 0)).ShouldBe(Utc(2026, 1, 1, 2, 30));
        Next("30 2 * * *", Utc(2025, 2, 28, 3, 0)).ShouldBe(Utc(2025, 3, 1, 2, 30));
    }

    [Fact]
    public void NextAfter_LeapDay_TheNextLeapYear()
    {
        Next("0 0 29 2 *", Utc(2025, 3, 1)).ShouldBe(Utc(2028, 2, 29));
        Next("0 0 29 2 *", Utc(2024, 2, 29)).ShouldBe(Utc(2028, 2, 29));
        Next("0 0 29 2 *", Utc(2024, 2, 28, 23, 59)).ShouldBe(Utc(2024, 2, 29));
        Next("0 12 29 FEB *", Utc(2023, 1, 1)).ShouldBe(Utc(2024, 2, 29, 12, 0));
    }

    [Fact]
    public void NextAfter_DayThatNeverComes_Null()
    {
        Next("0 0 30 2 *", Utc(2025, 1, 1)).ShouldBeNull();
        Next("0 0 31 4,6,9,11 *", Utc(2025, 1, 1)).ShouldBeNull();
        CronSchedule.Parse("0 0 30 2 *").Between(Utc(2000, 1, 1), Utc(2100, 1, 1)).ShouldBeEmpty();
    }

    [Fact]
    public void NextAfter_MonthEnds()
    {
        Next("0 0 31 * *", Utc(2025, 1, 31)).ShouldBe(Utc(2025, 3, 31));
        Next("0 0 31 * *", Utc(2025, 4, 1)).ShouldBe(Utc(2025, 5, 31));
        Next("59 23 30 * *", Utc(2025, 1, 30, 23, 59)).ShouldBe(Utc(2025, 3, 30, 23, 59));
        Next("0 0 1 * *", Utc(2025, 12, 31, 23, 59)).ShouldBe(Utc(2026, 1, 1));
    }

    [Fact]
    public void NextAfter_DayOfMonthAndDayOfWeekBothRestricted_EitherMatches()
    {
        // 1st and 15th of the month, and every Monday. 1 June 2025 is a Sunday.
        var schedule = CronSchedule.Parse("0 0 1,15 * 1");
        schedule.NextAfter(Utc(2025, 5, 31)).ShouldBe(Utc(2025, 6, 1));   // Sunday the 1st
        schedule.NextAfter(Utc(2025, 6, 1)).ShouldBe(Utc(2025, 6, 2));    // Monday the 2nd
        schedule.NextAfter(Utc(2025, 6, 13)).ShouldBe(Utc(2025, 6, 15));  // Sunday the 15th
        schedule.Between(Utc(2025, 5, 31), Utc(2025, 6, 30)).Select(t => t.Day).ShouldBe([1, 2, 9, 15, 16, 23, 30]);
    }

    [Fact]
    public void NextAfter_OneOfTheDayFieldsIsAStar_OnlyTheOtherRestricts()
    {
        CronSchedule.Parse("0 0 1,15 * *").Between(Utc(2025, 5, 31), Utc(2025, 6, 30)).Select(t => t.Day).ShouldBe([1, 15]);
        CronSchedule.Parse("0 0 * * 1").Between(Utc(2025, 5, 31), Utc(2025, 6, 30)).Select(t => t.Day).ShouldBe([2, 9, 16, 23, 30]);
        CronSchedule.Parse("0 0 ? * 1").Between(Utc(2025, 5, 31), Utc(2025, 6, 30)).Select(t => t.Day).ShouldBe([2, 9, 16, 23, 30]);
        CronSchedule.Parse("0 0 */1 * 1").Between(Utc(2025, 5, 31), Utc(2025, 6, 30)).Select(t => t.Day).ShouldBe([2, 9, 16, 23, 30]);
        // Both restricted as robfig/cron reads them: "*/10" is a restriction, so the OR rule applies.
        CronSchedule.Parse("0 0 */10 * 1").Between(Utc(2025, 5, 31), Utc(2025, 6, 30)).Select(t => t.Day).ShouldBe([1, 2, 9, 11, 16, 21, 23, 30]);
        // Friday the 13th is not expressible: this is the 13th or any Friday.
        CronSchedule.Parse("0 0 13 * 5").Between(Utc(2025, 5, 31), Utc(2025, 6, 30)).Select(t => t.Day).ShouldBe([6, 13, 20, 27]);
    }

    [Fact]
    public void NextAfter_MonthAndWeekdayNames()
    {
        Next("0 12 1 JAN,jul *", Utc(2025, 2, 1)).ShouldBe(Utc(2025, 7, 1, 12, 0));
        Next("0 12 1 JAN,jul *", Utc(2025, 7, 1, 12, 0)).ShouldBe(Utc(2026, 1, 1, 12, 0));
        Next("0 9 * * mon-FRI", Utc(2025, 6, 14, 8, 0)).ShouldBe(Utc(2025, 6, 16, 9, 0));
        Next("0 9 * Dec Sun", Utc(2025, 6, 13)).ShouldBe(Utc(2025, 12, 7, 9, 0));
    }

    [Fact]
    public void NextAfter_SevenIsSunday()
    {
        Next("0 8 * * 7", Utc(2025, 6, 13)).ShouldBe(Utc(2025, 6, 15, 8, 0));
        Next("0 8 * * 6-7", Utc(2025, 6, 15, 8, 0)).ShouldBe(Utc(2025, 6, 21, 8, 0));
        Next("0 8 * * 7", Utc(2025, 6, 13)).ShouldBe(Next("0 8 * * SUN", Utc(2025, 6, 13)));
    }

    [Fact]
    public void NextAfter_EndOfTheCalendar_Null()
    {
        Next("* * * * *", DateTime.MaxValue).ShouldBeNull();
        Next("0 0 1 1 *", Utc(9999, 6, 1)).ShouldBeNull();
        Next("* * * * *", Utc(9999, 12, 31, 23, 58)).ShouldBe(Utc(9999, 12, 31, 23, 59));
    }

    [Fact]
    public void NextAfter_SparseSchedule_IsFast()
    {
        // Skipping by month, day and hour: thousands of far-away searches in well under a second.
        var schedule = CronSchedule.Parse("0 0 30 2 *");
        var leap = CronSchedule.Parse("59 23 29 2 1");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < 2_000; i++)
        {
            schedule.NextAfter(Utc(2025, 1, 1).AddHours(i)).ShouldBeNull();
            leap.NextAfter(Utc(2025, 1, 1).AddHours(i)).ShouldNotBeNull();
        }

        watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(2));
    }

    // ---- random cross-check against a brute-force minute-by-minute search ----

    /// <summary>One randomly written field: its text, and which values it allows (worked out here, independently).</summary>
    private sealed record RandomField(string Text, bool[] Allows, bool Star);

    private static readonly string[] MonthNames = ["jan", "FEB", "Mar", "apr", "MAY", "jun", "Jul", "aug", "SEP", "oct", "Nov", "dec"];
    private static readonly string[] DayNames = ["sun", "MON", "Tue", "wed", "THU", "fri", "Sat"];

    /// <param name="max">The largest value allowed; <paramref name="starMax"/> is where "*" and "a/n" stop (6 for day of week, where 7 is also Sunday).</param>
    private static RandomField MakeField(Random random, int min, int max, int starMax, string[]? names, int denseBias)
    {
        var allows = new bool[max + 1];
        var star = false;
        var parts = new List<string>();
        var count = random.Next(10) < 7 ? 1 : random.Next(2, 4);

        string Value(int value) =>
            names is not null && value - min < names.Length && random.Next(3) == 0 ? names[value - min] : value.ToString(CultureInfo.InvariantCulture);

        void Allow(int from, int to, int step)
        {
            for (var v = from; v <= to; v += step)
            {
                allows[v] = true;
            }
        }

        for (var i = 0; i < count; i++)
        {
            var a = random.Next(min, max + 1);
            var b = random.Next(a, max + 1);
            var step = random.Next(1, (max - min) / 2 + 2);
            switch (random.Next(10 + denseBias))
            {
                case 0:
                    parts.Add(Value(a));
                    Allow(a, a, 1);
                    break;
                case 1:
                case 2:
                    parts.Add($"{Value(a)}-{Value(b)}");
                    Allow(a, b, 1);
                    break;
                case 3:
                    parts.Add($"*/{step}");
                    Allow(min, starMax, step);
                    star |= step == 1;
                    break;
                case 4:
                    parts.Add($"{Value(a)}-{Value(b)}/{step}");
                    Allow(a, b, step);
                    break;
                case 5:
                    parts.Add($"{Value(a)}/{step}");
                    Allow(a, Math.Max(a, starMax), step);
                    break;
                case 6:
                    parts.Add(random.Next(2) == 0 ? "*" : "?");
                    Allow(min, starMax, 1);
                    star = true;
                    break;
                default:
                    // Weighted towards dense fields so that many schedules match often; a single number otherwise.
                    if (i == 0 && count == 1)
                    {
                        parts.Add("*");
                        Allow(min, starMax, 1);
                        star = true;
                    }
                    else
                    {
                        parts.Add(Value(a));
                        Allow(a, a, 1);
                    }

                    break;
            }
        }

        return new RandomField(string.Join(",", parts), allows, star);
    }

    private static bool Matches(RandomField[] fields, DateTime t)
    {
        if (!fields[0].Allows[t.Minute] || !fields[1].Allows[t.Hour] || !fields[3].Allows[t.Month])
        {
            return false;
        }

        var dayOfMonth = fields[2].Allows[t.Day];
        var dayOfWeek = fields[4].Allows[(int)t.DayOfWeek] || (t.DayOfWeek == DayOfWeek.Sunday && fields[4].Allows[7]);
        return fields[2].Star || fields[4].Star ? dayOfMonth && dayOfWeek : dayOfMonth || dayOfWeek;
    }

    private static DateTime? BruteForce(RandomField[] fields, DateTime after, int days)
    {
        var t = new DateTime(after.Ticks - (after.Ticks % TimeSpan.TicksPerMinute), DateTimeKind.Utc).AddMinutes(1);
        for (var end = t.AddDays(days); t < end; t = t.AddMinutes(1))
        {
            if (Matches(fields, t))
            {
                return t;
            }
        }

        return null;
    }

    [Fact]
    public void NextAfter_RandomSchedules_AgreeWithABruteForceSearch()
    {
        const int Days = 400;
        var random = new Random(20250613);
        for (var i = 0; i < 200; i++)
        {
            RandomField[] fields =
            [
                MakeField(random, 0, 59, 59, null, denseBias: 4),
                MakeField(random, 0, 23, 23, null, denseBias: 4),
                MakeField(random, 1, 31, 31, null, denseBias: 6),
                MakeField(random, 1, 12, 12, MonthNames, denseBias: 6),
                MakeField(random, 0, 7, 6, DayNames, denseBias: 6),
            ];
            var expression = string.Join(" ", fields.Select(f => f.Text));
            var schedule = CronSchedule.Parse(expression);
            var start = Utc(2000, 1, 1).AddSeconds(random.NextInt64((long)(Utc(2040, 1, 1) - Utc(2000, 1, 1)).TotalSeconds));

            var expected = BruteForce(fields, start, Days);
            var actual = schedule.NextAfter(start);
            if (expected is not null)
            {
                actual.ShouldBe(expected, $"'{expression}' after {start:O}");
            }
            else
            {
                // Nothing within 400 days: either nothing at all, or something further away.
                (actual is null || actual.Value > start.AddDays(Days)).ShouldBeTrue($"'{expression}' after {start:O} gave {actual:O}");
            }

            // Between agrees with NextAfter over the following days.
            if (actual is { } first && first < start.AddDays(2))
            {
                var between = schedule.Between(start, start.AddDays(2)).Take(50).ToList();
                between[0].ShouldBe(first, expression);
                between.Zip(between.Skip(1)).ShouldAllBe(pair => schedule.NextAfter(pair.First) == pair.Second);
            }
        }
    }
}
