using System.Text.Json;
using System.Text.Json.Nodes;
using Orrery.Gateway;
using Orrery.Gateway.Clusters;

namespace Orrery.Tests.Gateway;

public class ClusterOptionsSpecTests
{
    private static readonly ClusterOptionsSpec Defaults = ClusterOptionsSpec.For(new GatewayOptions(), []);

    /// <summary>One field of each type, as an admin would configure them.</summary>
    private static GatewayOptions AllTypes() => new()
    {
        ClusterOptions =
        [
            new() { Field = "cores", Label = "Cores", Type = "int", Default = "2", Min = 1, Max = 4 },
            new() { Field = "memory", Type = "float", Default = "1.5", Min = 0.5, Max = null },
            new() { Field = "image", Label = "Image", Type = "string", Default = "img" },
            new() { Field = "debug", Type = "bool", Default = "false" },
            new() { Field = "profile", Type = "select", Options = ["small", "large"] },
            new() { Field = "environment", Type = "mapping" },
        ],
    };

    [Fact]
    public void Validate_NothingGiven_AllDefaultsFilledIn()
    {
        var (options, error) = Defaults.Validate(null);
        error.ShouldBeNull();
        options!.ToJsonString().ShouldBe("""{"worker_cores":1,"worker_threads":1,"worker_memory":1,"image":"","environment":{},"idle_timeout":1800}""");
    }

    [Fact]
    public void Validate_SomeGiven_GivenKeptRestDefaulted()
    {
        var (options, error) = ClusterOptionsSpec.For(AllTypes(), []).Validate(Parse("""{"memory": 2, "profile": "large", "environment": {"FOO": "bar"}}"""));
        error.ShouldBeNull();
        options!.ToJsonString().ShouldBe("""{"cores":2,"memory":2,"image":"img","debug":false,"profile":"large","environment":{"FOO":"bar"}}""");
    }

    [Fact]
    public void Validate_MappingDefault_CopiedNotShared()
    {
        var spec = ClusterOptionsSpec.For(AllTypes(), []);
        var first = spec.Validate(null).Options!;
        first["environment"]!.AsObject()["LEAK"] = "yes";
        spec.Validate(null).Options!["environment"]!.ToJsonString().ShouldBe("{}");
    }

    [Fact]
    public void Validate_UnknownField_ErrorListsIt()
    {
        Defaults.Validate(Parse("""{"nope": 1}""")).Error.ShouldBe("Unknown fields ['nope']");
        var (options, error) = Defaults.Validate(Parse("""{"also": 1, "worker_cores": 2, "nope": 2}"""));
        options.ShouldBeNull();
        error.ShouldBe("Unknown fields ['also', 'nope']");
    }

    [Fact]
    public void Validate_UnknownFieldsOutOfOrder_ListedSortedAsUpstream()
    {
        Defaults.Validate(Parse("""{"nope": 1, "also": 2}""")).Error.ShouldBe("Unknown fields ['also', 'nope']");
    }

    [Theory]
    [InlineData("""{"cores": "x"}""", "cores must be an integer, got 'x'")]
    [InlineData("""{"cores": 1.5}""", "cores must be an integer, got 1.5")]
    [InlineData("""{"cores": null}""", "cores must be an integer, got None")]
    [InlineData("""{"cores": 5}""", "cores must be <= 4.000000, got 5")]
    [InlineData("""{"cores": 0}""", "cores must be >= 1.000000, got 0")]
    [InlineData("""{"memory": "big"}""", "memory must be a number, got 'big'")]
    [InlineData("""{"memory": 0.25}""", "memory must be >= 0.500000, got 0.25")]
    [InlineData("""{"image": 5}""", "image must be a string, got 5")]
    [InlineData("""{"image": ["a"]}""", "image must be a string, got [\"a\"]")]
    [InlineData("""{"debug": 1}""", "debug must be a bool, got 1")]
    [InlineData("""{"debug": "true"}""", "debug must be a bool, got 'true'")]
    [InlineData("""{"profile": "medium"}""", "'medium' is not a valid option for profile")]
    [InlineData("""{"profile": 1}""", "1 is not a valid option for profile")]
    [InlineData("""{"environment": "A=1"}""", "environment must be a mapping, got 'A=1'")]
    [InlineData("""{"environment": {"A": 1}}""", "environment values must be strings")]
    [InlineData("""{"environment": {"A": null}}""", "environment values must be strings")]
    public void Validate_BadValue_ErrorNamesField(string requested, string message)
    {
        var (options, error) = ClusterOptionsSpec.For(AllTypes(), []).Validate(Parse(requested));
        options.ShouldBeNull();
        error.ShouldBe(message);
    }

    [Theory]
    [InlineData("""{"cores": 4}""")]
    [InlineData("""{"cores": 1}""")]
    [InlineData("""{"memory": 1000}""")] // no max
    [InlineData("""{"debug": true}""")]
    [InlineData("""{"profile": "small"}""")]
    [InlineData("""{"environment": {}}""")]
    public void Validate_GoodValue_Accepted(string requested)
    {
        var (options, error) = ClusterOptionsSpec.For(AllTypes(), []).Validate(Parse(requested));
        error.ShouldBeNull();
        var (field, value) = Parse(requested).Single();
        options![field]!.ToJsonString().ShouldBe(value!.ToJsonString());
    }

    [Fact]
    public void WriteSpec_EachType_ExactlyTheKeysTheClientAccepts()
    {
        var fields = Spec(ClusterOptionsSpec.For(AllTypes(), []));
        fields.Select(f => f.GetRawText()).ShouldBe(
        [
            """{"field":"cores","label":"Cores","default":2,"spec":{"type":"int","min":1,"max":4}}""",
            """{"field":"memory","label":"memory","default":1.5,"spec":{"type":"float","min":0.5,"max":null}}""",
            """{"field":"image","label":"Image","default":"img","spec":{"type":"string"}}""",
            """{"field":"debug","label":"debug","default":false,"spec":{"type":"bool"}}""",
            """{"field":"profile","label":"profile","default":"small","spec":{"type":"select","options":["small","large"]}}""",
            """{"field":"environment","label":"environment","default":{},"spec":{"type":"mapping"}}""",
        ]);
    }

    [Fact]
    public void WriteSpec_Defaults_WorkerSizeFields()
    {
        var fields = Spec(Defaults);
        fields.Select(f => f.GetProperty("field").GetString()).ShouldBe(["worker_cores", "worker_threads", "worker_memory", "image", "environment", "idle_timeout"]);
        fields[0].GetRawText().ShouldBe("""{"field":"worker_cores","label":"Worker Cores","default":1,"spec":{"type":"int","min":1,"max":4}}""");
        fields[2].GetProperty("spec").GetRawText().ShouldBe("""{"type":"float","min":0.25,"max":16}""");
    }

    [Fact]
    public void For_GroupOverride_AppliesToMembersOnly_FirstGroupByNameWins()
    {
        var options = new GatewayOptions
        {
            GroupOverrides = new()
            {
                ["gpu"] = new() { ["worker_cores"] = new OptionOverride { Max = 8 } },
                ["big"] = new() { ["worker_cores"] = new OptionOverride { Max = 16, Default = "2" } },
            },
        };
        MaxCores(ClusterOptionsSpec.For(options, [])).ShouldBe(4);
        MaxCores(ClusterOptionsSpec.For(options, ["students"])).ShouldBe(4);
        MaxCores(ClusterOptionsSpec.For(options, ["gpu"])).ShouldBe(8);
        MaxCores(ClusterOptionsSpec.For(options, ["gpu", "big"])).ShouldBe(16);
        var big = ClusterOptionsSpec.For(options, ["big"]);
        big.Validate(null).Options!["worker_cores"]!.GetValue<int>().ShouldBe(2);
        ClusterOptionsSpec.For(options, ["gpu"]).Validate(Parse("""{"worker_cores": 9}""")).Error.ShouldBe("worker_cores must be <= 8.000000, got 9");
        ClusterOptionsSpec.For(options, []).Validate(Parse("""{"worker_cores": 8}""")).Error.ShouldBe("worker_cores must be <= 4.000000, got 8");
    }

    [Theory]
    [InlineData("complex", "1", "cores")]
    [InlineData("int", "1.5", "cores")]
    [InlineData("int", "9", "cores")]
    [InlineData("int", null, "cores")]
    [InlineData("bool", "1", "cores")]
    [InlineData("mapping", "[1]", "cores")]
    public void CheckConfiguration_BadField_ThrowsNamingField(string type, string? defaultValue, string field)
    {
        var options = new GatewayOptions { ClusterOptions = [new() { Field = "cores", Type = type, Default = defaultValue, Min = 1, Max = 4 }] };
        Should.Throw<InvalidOperationException>(() => ClusterOptionsSpec.CheckConfiguration(options)).Message.ShouldContain(field);
    }

    [Theory]
    [InlineData("WorkerCores")]
    [InlineData("worker-cores")]
    [InlineData("1cores")]
    [InlineData("")]
    public void CheckConfiguration_NotSnakeCaseName_ThrowsNamingField(string name)
    {
        var options = new GatewayOptions { ClusterOptions = [new() { Field = name, Type = "string", Default = "" }] };
        Should.Throw<InvalidOperationException>(() => ClusterOptionsSpec.CheckConfiguration(options)).Message.ShouldContain($"'{name}'");
    }

    [Fact]
    public void CheckConfiguration_BadSelectDefault_ThrowsNamingField()
    {
        var options = new GatewayOptions { ClusterOptions = [new() { Field = "profile", Type = "select", Default = "huge", Options = ["small", "large"] }] };
        Should.Throw<InvalidOperationException>(() => ClusterOptionsSpec.CheckConfiguration(options)).Message.ShouldContain("profile");
    }

    [Fact]
    public void CheckConfiguration_GroupOverrideBreaksDefault_ThrowsNamingField()
    {
        var options = new GatewayOptions { GroupOverrides = new() { ["tiny"] = new() { ["worker_cores"] = new OptionOverride { Max = 0.5 } } } };
        Should.Throw<InvalidOperationException>(() => ClusterOptionsSpec.CheckConfiguration(options)).Message.ShouldContain("worker_cores");
    }

    [Theory]
    [InlineData("int", "abc")]
    [InlineData("mapping", "not json")]
    [InlineData("bool", "yes")]
    public void CheckConfiguration_DefaultNotJson_ThrowsNamingField(string type, string defaultValue)
    {
        var options = new GatewayOptions { ClusterOptions = [new() { Field = "cores", Type = type, Default = defaultValue }] };
        Should.Throw<InvalidOperationException>(() => ClusterOptionsSpec.CheckConfiguration(options)).Message.ShouldContain("cores");
    }

    [Fact]
    public void CheckConfiguration_Defaults_Valid()
    {
        Should.NotThrow(() => ClusterOptionsSpec.CheckConfiguration(new GatewayOptions()));
    }

    private static JsonObject Parse(string json) => JsonNode.Parse(json)!.AsObject();

    private static List<JsonElement> Spec(ClusterOptionsSpec spec)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
            spec.WriteSpec(writer);
        var root = JsonDocument.Parse(stream.ToArray()).RootElement;
        root.EnumerateObject().Select(p => p.Name).ShouldBe(["cluster_options"]);
        return root.GetProperty("cluster_options").EnumerateArray().Select(e => e.Clone()).ToList();
    }

    private static int MaxCores(ClusterOptionsSpec spec) =>
        Spec(spec).Single(f => f.GetProperty("field").GetString() == "worker_cores").GetProperty("spec").GetProperty("max").GetInt32();
}
