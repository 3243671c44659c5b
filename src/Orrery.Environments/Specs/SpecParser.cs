using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Orrery.Environments.Specs;

/// <summary>
/// Reads an environment spec from YAML, naming the field of the first problem. Every value that reaches a build
/// script or a Containerfile is checked against a strict pattern here, so no spec can inject shell.
/// </summary>
/// <example>
/// name: geo
/// base: host                      # or a container image, e.g. docker.io/pangeo/base-notebook:2024.01.18
/// environment:                    # environment.yml, inline (or environment_file: a file in the bundle)
///   channels: [conda-forge]
///   dependencies: [python=3.11, {pip: [rich==13.7.0]}]
/// apt: [gdal-bin]
/// libraries: [geotools]           # directories in the uploaded bundle, installed with pip
/// variables: {GDAL_CACHEMAX: "512"}
/// welcome: The geo team's environment.
/// </example>
public static partial class SpecParser
{
    private static readonly string[] TopLevel = ["name", "base", "environment", "environment_file", "apt", "libraries", "variables", "welcome"];

    /// <summary>
    /// The spec, and the environment file it names (read by <paramref name="readFile"/> from the bundle; null when absent).
    /// </summary>
    public static EnvironmentSpec Parse(string yaml, Func<string, string?> readFile)
    {
        var root = Load(yaml, "spec") as YamlMappingNode ?? throw new SpecException("spec", "must be a YAML mapping with at least name and base");
        foreach (var key in root.Children.Keys)
            if (key is not YamlScalarNode { Value: { } k } || !TopLevel.Contains(k))
                throw new SpecException(key.ToString(), $"unknown field; the fields are {string.Join(", ", TopLevel)}");

        var name = Scalar(root, "name") ?? throw new SpecException("name", "is required");
        if (!NamePattern().IsMatch(name))
            throw new SpecException("name", "must be 1-63 lowercase letters, digits, '.', '_' or '-', starting and ending with a letter or digit");
        var baseImage = Scalar(root, "base") ?? throw new SpecException("base", $"is required: '{EnvironmentSpec.HostBase}' or a container image");
        if (baseImage != EnvironmentSpec.HostBase && !ImagePattern().IsMatch(baseImage))
            throw new SpecException("base", $"'{baseImage}' is neither '{EnvironmentSpec.HostBase}' nor a container image reference");

        YamlMappingNode? conda = null;
        if (root.Children.TryGetValue(new YamlScalarNode("environment"), out var inline))
            conda = inline as YamlMappingNode ?? throw new SpecException("environment", "must be a mapping (the contents of an environment.yml)");
        if (Scalar(root, "environment_file") is { } file)
        {
            if (conda is not null)
                throw new SpecException("environment_file", "give either environment or environment_file, not both");
            var text = RelativePath(file, "environment_file") is var path && readFile(path) is { } content ? content
                : throw new SpecException("environment_file", $"'{file}' is not a file in the uploaded bundle");
            conda = Load(text, "environment_file") as YamlMappingNode ?? throw new SpecException("environment_file", "must hold a YAML mapping");
        }
        var (channels, condaPackages, pip) = conda is null ? ([], [], []) : ReadConda(conda);

        var libraries = List(root, "libraries").Select((l, i) => RelativePath(l, $"libraries[{i}]")).ToList();
        if (libraries.Distinct().Count() != libraries.Count)
            throw new SpecException("libraries", "lists a directory twice");
        return new EnvironmentSpec(name, baseImage, channels, condaPackages, pip,
            Checked(List(root, "apt"), "apt", AptPattern(), "a Debian package name, optionally =version"),
            libraries, Variables(root), Welcome(root));
    }

    private static (List<string>, List<string>, List<string>) ReadConda(YamlMappingNode conda)
    {
        foreach (var key in conda.Children.Keys)
            if (key is not YamlScalarNode { Value: "channels" or "dependencies" or "name" or "prefix" })
                throw new SpecException($"environment.{key}", "unknown field; an environment file has channels and dependencies");
        var channels = Checked(List(conda, "channels", "environment."), "environment.channels", ChannelPattern(), "a channel name or URL");
        var packages = new List<string>();
        var pip = new List<string>();
        if (conda.Children.TryGetValue(new YamlScalarNode("dependencies"), out var node))
        {
            var dependencies = node as YamlSequenceNode ?? throw new SpecException("environment.dependencies", "must be a list");
            var i = 0;
            foreach (var item in dependencies)
            {
                var field = $"environment.dependencies[{i++}]";
                if (item is YamlScalarNode { Value: { } package })
                    packages.Add(CheckedOne(package, field, CondaPattern(), "a conda package spec such as numpy or numpy>=1.24"));
                else if (item is YamlMappingNode map && map.Children.Count == 1 && map.Children.ContainsKey(new YamlScalarNode("pip")))
                    pip.AddRange(Checked(List(map, "pip", field + "."), field + ".pip", PipPattern(), "a pip requirement such as rich==13.7.0"));
                else
                    throw new SpecException(field, "must be a package spec or a {pip: [...]} mapping");
            }
        }
        return (channels, packages, pip);
    }

    private static YamlNode? Load(string yaml, string field)
    {
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(yaml));
            return stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
        }
        catch (YamlException e)
        {
            throw new SpecException(field, $"is not valid YAML ({e.Start}): {e.Message}");
        }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException or InvalidOperationException)
        {
            // YamlDotNet lets a few of these out for malformed escapes (a lone surrogate "\ud800"): still bad input, not a crash.
            throw new SpecException(field, $"is not valid YAML: {e.Message}");
        }
    }

    private static string? Scalar(YamlMappingNode map, string key)
    {
        if (!map.Children.TryGetValue(new YamlScalarNode(key), out var node))
            return null;
        return node is YamlScalarNode { Value: { Length: > 0 } value } ? value.Trim() : throw new SpecException(key, "must be a non-empty text");
    }

    private static List<string> List(YamlMappingNode map, string key, string prefix = "")
    {
        if (!map.Children.TryGetValue(new YamlScalarNode(key), out var node))
            return [];
        if (node is not YamlSequenceNode sequence)
            throw new SpecException(prefix + key, "must be a list");
        return sequence.Select((item, i) => item is YamlScalarNode { Value: { Length: > 0 } value } ? value.Trim()
            : throw new SpecException($"{prefix}{key}[{i}]", "must be a non-empty text")).ToList();
    }

    private static List<string> Checked(List<string> values, string field, Regex pattern, string what) =>
        values.Select((v, i) => CheckedOne(v, $"{field}[{i}]", pattern, what)).ToList();

    private static string CheckedOne(string value, string field, Regex pattern, string what) =>
        pattern.IsMatch(value) ? value : throw new SpecException(field, $"'{value}' is not {what}");

    private static string RelativePath(string path, string field)
    {
        var trimmed = path.TrimEnd('/');
        if (trimmed.Length == 0 || trimmed.StartsWith('/') || trimmed.Split('/').Any(s => s is "" or "." or "..") || !PathPattern().IsMatch(trimmed))
            throw new SpecException(field, $"'{path}' must be a relative path inside the bundle (letters, digits, '.', '_', '-', '/'; no '..')");
        return trimmed;
    }

    private static Dictionary<string, string> Variables(YamlMappingNode root)
    {
        if (!root.Children.TryGetValue(new YamlScalarNode("variables"), out var node))
            return [];
        var map = node as YamlMappingNode ?? throw new SpecException("variables", "must be a mapping of names to values");
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in map.Children)
        {
            var name = (key as YamlScalarNode)?.Value ?? "";
            if (!VariablePattern().IsMatch(name))
                throw new SpecException($"variables.{name}", "is not a valid variable name (letters, digits and '_', not starting with a digit)");
            if (value is not YamlScalarNode { Value: { } text } || text.Contains('\0') || text.Contains('\n'))
                throw new SpecException($"variables.{name}", "must be a single-line text");
            variables[name] = text;
        }
        return variables;
    }

    private static string? Welcome(YamlMappingNode root)
    {
        var welcome = Scalar(root, "welcome");
        return welcome is { Length: > 2000 } ? throw new SpecException("welcome", "is longer than 2000 characters") : welcome;
    }

    [GeneratedRegex("^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,254}$")]
    private static partial Regex ImagePattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._/:+-]{0,254}$")]
    private static partial Regex ChannelPattern();

    // name, then optional version constraints made of operators, versions, '*' and ','
    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9._-]*( ?(==|>=|<=|!=|~=|=|<|>)[A-Za-z0-9.*+_-]+)*(,(==|>=|<=|!=|~=|<|>)[A-Za-z0-9.*+_-]+)*$")]
    private static partial Regex CondaPattern();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?( ?(==|>=|<=|!=|~=|<|>)[A-Za-z0-9.*+!_-]+)?(,(==|>=|<=|!=|~=|<|>)[A-Za-z0-9.*+!_-]+)*$")]
    private static partial Regex PipPattern();

    [GeneratedRegex("^[a-z0-9][a-z0-9.+-]+(=[A-Za-z0-9.+:~-]+)?$")]
    private static partial Regex AptPattern();

    [GeneratedRegex("^[A-Za-z0-9._/-]+$")]
    private static partial Regex PathPattern();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex VariablePattern();
}
