using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Orrery.FunctionalTests.Infrastructure;

namespace Orrery.FunctionalTests.Hub;

/// <summary>
/// Malformed and hostile requests against every route the server maps (found from its endpoint data source, so
/// new routes are covered automatically): nothing may answer 5xx, hub API errors keep JupyterHub's shape, and the
/// server keeps answering afterwards.
/// </summary>
public partial class HostileRequestTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const int Parallelism = 8;
    private const string Json = "application/json";

    private OrreryTestServer Server => fixture.Server;

    /// <summary>Every route this suite must cover; the enumeration from the running app has to find each.</summary>
    private static readonly string[] KnownRoutes =
    [
        "GET /", "GET hub", "GET hub/health",
        "GET hub/api", "GET hub/api/health", "GET hub/api/info", "GET hub/api/user",
        "GET hub/api/authorizations/token/{token}", "POST hub/api/authorizations/token",
        "GET hub/api/users", "POST hub/api/users",
        "GET hub/api/users/{name}", "POST hub/api/users/{name}", "PATCH hub/api/users/{name}", "DELETE hub/api/users/{name}",
        "POST hub/api/users/{name}/activity",
        "GET hub/api/users/{name}/tokens", "POST hub/api/users/{name}/tokens",
        "GET hub/api/users/{name}/tokens/{id}", "DELETE hub/api/users/{name}/tokens/{id}",
        "GET hub/api/groups", "POST hub/api/groups",
        "GET hub/api/groups/{name}", "POST hub/api/groups/{name}", "DELETE hub/api/groups/{name}",
        "POST hub/api/groups/{name}/users", "DELETE hub/api/groups/{name}/users",
        "GET hub/login", "POST hub/login", "GET hub/logout", "POST hub/logout", "GET hub/home",
        "GET hub/token", "POST hub/token", "POST hub/token/{id}/revoke",
    ];

    private static readonly string[] AllMethods = ["GET", "POST", "PUT", "PATCH", "DELETE"];

    [Fact]
    public void Routes_EnumeratedFromRunningApp_IncludeEveryKnownRoute()
    {
        var found = Routes(Server.Services).Select(r => $"{r.Method} {r.Template}").ToHashSet(StringComparer.Ordinal);
        KnownRoutes.Where(r => !found.Contains(r)).ShouldBeEmpty($"found: {string.Join("; ", found.Order(StringComparer.Ordinal))}");
        // The hub API's catch-all (any method) is there too, so unknown hub API paths get the hub's JSON 404.
        found.ShouldContain(r => r.StartsWith("* hub/api/{*", StringComparison.Ordinal));
    }

    [Fact]
    public async Task EveryRoute_HostileAuthAndBodies_NeverAnswers5xx()
    {
        var world = await World.CreateAsync(Server);
        var probes = new List<Probe>();
        foreach (var (method, template, pattern) in Routes(Server.Services))
            foreach (var verb in method == "*" ? ["GET", "POST"] : new[] { method })
                foreach (var auth in world.Auths)
                {
                    var path = Fill(pattern, parameter => world.NormalValue(parameter, auth.Name, template));
                    var bodies = verb == "GET" ? Bodies.Where(b => b.Name is "none" or "open brace" or "deeply nested") : Bodies;
                    probes.AddRange(bodies.Select(body => new Probe(verb, path, auth.Name, auth.Header, body.Name, body.Bytes, body.ContentType,
                        FrameworkMayAnswer: auth.Name == "non-ascii")));
                }
        probes.Count.ShouldBeGreaterThan(3000);

        // Deletions last, so the users, groups and tokens the other probes aim at exist while they run.
        var answers = await SendAllAsync(probes.Where(p => p.Method != "DELETE"));
        await SendAllAsync(probes.Where(p => p.Method == "DELETE"), answers: answers);

        answers.ShouldHaveNoFailures();
        // The probes got past authentication into the handlers: created, deleted, rejected bodies, conflicts.
        answers.ShouldHaveSeen(200, 201, 204, 302, 400, 403, 404, 409);
        await ShouldStillAnswerAsync(Server);
    }

    [Fact]
    public async Task EveryRouteParameter_HostileNames_NeverAnswers5xx()
    {
        var world = await World.CreateAsync(Server);
        string[] hostile =
        [
            "..", "%2E%2E", "..%2F..%2Fetc", "..%2F..%2F..%2Fetc%2Fpasswd", "%00", "a%00b", new string('a', 5000),
            "%C3%BC%C3%B1%C3%AF%E2%98%83", "%E2%80%AE", "%FF%FE", "%C0%AF", "a%2Fb", "ADMIN", "admin", "%20", "a%20b",
            "%25", "%3Cscript%3E", "a%3Fb%3Dc", "%23", "%5C..%5C", "-1", "a-1", "a99999999999999999999", "a0", "0x10",
            "%F0%9F%92%A9",
        ];
        var probes = new List<Probe>();
        foreach (var (method, template, pattern) in Routes(Server.Services).Where(r => r.Pattern.Parameters.Count > 0 && r.Method != "*"))
            foreach (var parameter in pattern.Parameters)
                foreach (var value in hostile)
                    foreach (var auth in world.Auths.Where(a => a.Name is "none" or "user" or "admin"))
                    {
                        var path = Fill(pattern, p => p == parameter.Name ? value : world.NormalValue(p, auth.Name, template));
                        foreach (var body in Bodies.Where(b => b.Name is "none" or "empty object"))
                            probes.Add(new Probe(method, path, auth.Name, auth.Header, body.Name, body.Bytes, body.ContentType));
                    }

        var answers = await SendAllAsync(probes.Where(p => p.Method != "DELETE"));
        await SendAllAsync(probes.Where(p => p.Method == "DELETE"), answers: answers);

        answers.ShouldHaveNoFailures();
        answers.ShouldHaveSeen(200, 400, 403, 404);
        await ShouldStillAnswerAsync(Server);
    }

    [Fact]
    public async Task RawRequestTargets_TraversalAndMalformedPaths_NeverAnswer5xx()
    {
        string[] targets =
        [
            "/hub/api/users/../../../etc/passwd", "/hub/api/users/..", "/hub/api/users/%2e%2e/tokens", "/hub/../../etc/passwd",
            "/hub/api/users/..%2F..%2Fetc", "/hub/api/users/%00", "/hub/api/users/%", "/hub/api/users/%zz", "/hub/api/users/%ff%fe",
            "//hub/api", "///hub/api/users", "/hub/api/users/a;b=c", "/hub/api/users/./", "/hub/token/../login",
            "/hub/api/users/\u00fc", "/hub/api/\u0001", "/hub/api?a=%zz&&=&%00", "/hub/api/users?offset=%00&limit=%ff",
            "http://evil.example/hub/api", "*", "hub/api", "/hub/api/users/" + new string('a', 5000),
        ];
        var failures = new List<string>();
        foreach (var target in targets)
            foreach (var method in new[] { "GET", "POST", "DELETE" })
            {
                var status = await RawStatusAsync(Server.BaseAddress, $"{method} {target} HTTP/1.1", Server.AdminToken);
                if (status is < 100 or >= 500)
                    failures.Add($"{status} for raw {method} {target}");
            }
        failures.ShouldBeEmpty(string.Join(Environment.NewLine, failures));
        await ShouldStillAnswerAsync(Server);
    }

    [Fact]
    public async Task EveryRoute_UnmappedMethods_Answer404Or405()
    {
        var world = await World.CreateAsync(Server);
        var routes = Routes(Server.Services).Where(r => r.Method != "*").ToList();
        var probes = new List<Probe>();
        foreach (var group in routes.GroupBy(r => r.Template))
        {
            var mapped = group.Select(r => r.Method).ToHashSet(StringComparer.Ordinal);
            var path = Fill(group.First().Pattern, p => world.NormalValue(p, "admin", group.Key));
            foreach (var method in AllMethods.Where(m => !mapped.Contains(m)))
                foreach (var auth in world.Auths.Where(a => a.Name is "none" or "admin"))
                    probes.Add(new Probe(method, path, auth.Name, auth.Header, "empty object", "{}"u8.ToArray(), Json, ExpectNotFoundOrNotAllowed: true));
        }
        probes.ShouldNotBeEmpty();

        var answers = await SendAllAsync(probes);

        answers.ShouldHaveNoFailures();
        // 404 from the hub API's catch-all (JupyterHub's API404), 405 from the pages.
        answers.Distinct.ShouldBe([404, 405], ignoreOrder: true);
    }

    [Fact]
    public async Task HubApi_QueryStringAbuse_NeverAnswers5xx()
    {
        var world = await World.CreateAsync(Server);
        string[] queries =
        [
            "offset=-1", "limit=-1", "limit=0", "offset=abc", "limit=99999999999", "offset=2147483647&limit=200",
            "offset=2147483647&limit=2147483647", "state=%00", "state=active&state=ready", "name_filter=%25", "name_filter=_",
            "name_filter=%00", "name_filter=" + new string('x', 5000), "include_stopped_servers=%FF", "offset=1e3", "limit=%20",
            "token=" + world.UserToken, "a=%zz", "&&&==&",
        ];
        var probes = new List<Probe>();
        foreach (var (method, template, pattern) in Routes(Server.Services).Where(r => r.Method == "GET"))
            foreach (var query in queries)
                foreach (var auth in world.Auths.Where(a => a.Name is "user" or "admin"))
                    foreach (var accept in new[] { "application/jupyterhub-pagination+json", "*/*" })
                        probes.Add(new Probe("GET", Fill(pattern, p => world.NormalValue(p, auth.Name, template)) + "?" + query,
                            auth.Name, auth.Header, "none", null, null, Accept: accept));

        var answers = await SendAllAsync(probes);

        answers.ShouldHaveNoFailures();
        answers.ShouldHaveSeen(200, 400);
    }

    [Fact]
    public async Task UsersList_OffsetNearIntMax_HasNoNextPage()
    {
        using var admin = Server.AdminClient();
        admin.DefaultRequestHeaders.Accept.ParseAdd("application/jupyterhub-pagination+json");

        var page = await (await admin.GetAsync("hub/api/users?offset=2147483647&limit=200")).JsonAsync();

        page.GetProperty("items").GetArrayLength().ShouldBe(0);
        page.GetProperty("_pagination").GetProperty("next").ValueKind.ShouldBe(JsonValueKind.Null);
    }

    [Fact]
    public async Task UsersList_LimitZero_PagesByOneAsJupyterHubDoes()
    {
        await Server.CreateUserAsync("limit");
        using var admin = Server.AdminClient();
        admin.DefaultRequestHeaders.Accept.ParseAdd("application/jupyterhub-pagination+json");

        var page = await (await admin.GetAsync("hub/api/users?limit=0")).JsonAsync();

        page.GetProperty("items").GetArrayLength().ShouldBe(1);
        var pagination = page.GetProperty("_pagination");
        pagination.GetProperty("limit").GetInt32().ShouldBe(1);
        pagination.GetProperty("next").GetProperty("offset").GetInt32().ShouldBe(1);
    }

    [Theory]
    [InlineData("usernames", "[\"\\ud800\"]")]
    [InlineData("note", "\"\\udc00\"")]
    [InlineData("scopes", "[\"\\ud800\"]")]
    public async Task HubApi_StringsThatAreNotValidText_Return400InvalidJson(string field, string value)
    {
        var (name, _) = await Server.CreateUserAsync("badtext");
        using var admin = Server.AdminClient();
        var path = field == "usernames" ? "hub/api/users" : $"hub/api/users/{name}/tokens";

        var response = await admin.PostAsync(path, new StringContent($"{{\"{field}\": {value}}}", Encoding.UTF8, Json));
        var invalidUtf8 = await admin.PostAsync(path, new ByteArrayContent([.. "{\""u8, 0xff, .. "\": 1}"u8]));

        (await response.ShouldBeHubErrorAsync(400)).ShouldBe("Invalid JSON in body of request");
        (await invalidUtf8.ShouldBeHubErrorAsync(400)).ShouldBe("Invalid JSON in body of request");
    }

    [Fact]
    public async Task Headers_Huge_Answer431Or400()
    {
        using var client = Server.Client();
        var failures = new List<string>();
        foreach (var path in new[] { "hub/api", "hub/api/user", "hub/login", "hub/api/users/x/tokens" })
        {
            using var huge = new HttpRequestMessage(HttpMethod.Get, path);
            huge.Headers.TryAddWithoutValidation("X-Junk", new string('j', 100 * 1024));
            using var hugeAuth = new HttpRequestMessage(HttpMethod.Get, path);
            hugeAuth.Headers.TryAddWithoutValidation("Authorization", "token " + new string('t', 100 * 1024));
            using var many = new HttpRequestMessage(HttpMethod.Get, path);
            for (var i = 0; i < 500; i++)
                many.Headers.TryAddWithoutValidation($"X-Junk-{i}", "j");
            foreach (var request in new[] { huge, hugeAuth, many })
            {
                using var response = await client.SendAsync(request);
                if ((int)response.StatusCode is not (431 or 400))
                    failures.Add($"{(int)response.StatusCode} for {path} with {request.Headers.Count()} headers");
            }
        }
        failures.ShouldBeEmpty(string.Join(Environment.NewLine, failures));
        await ShouldStillAnswerAsync(Server);
    }

    [Fact]
    public async Task EveryRoute_BodyOverLimit_Answers413NotServerError()
    {
        await using var server = await OrreryTestServer.StartAsync(new Dictionary<string, string?> { ["Orrery:MaxRequestBodyBytes"] = "1024" });
        var world = await World.CreateAsync(server);
        var big = Encoding.UTF8.GetBytes($"{{\"note\": \"{new string('x', 64 * 1024)}\"}}");
        var probes = new List<Probe>();
        foreach (var (method, template, pattern) in Routes(server.Services).Where(r => r.Method is not ("GET" or "*")))
            foreach (var auth in world.Auths.Where(a => a.Name is "none" or "user" or "admin"))
            {
                var path = Fill(pattern, p => world.NormalValue(p, auth.Name, template));
                probes.Add(new Probe(method, path, auth.Name, auth.Header, "64 KB json", big, Json, Oversized: true));
                probes.Add(new Probe(method, path, auth.Name, auth.Header, "64 KB json, chunked", big, Json, Chunked: true, Oversized: true));
                probes.Add(new Probe(method, path, auth.Name, auth.Header, "64 KB form", big, "application/x-www-form-urlencoded", Oversized: true));
            }

        var answers = await SendAllAsync(probes.Where(p => p.Method != "DELETE"), server);
        await SendAllAsync(probes.Where(p => p.Method == "DELETE"), server, answers);

        answers.ShouldHaveNoFailures();
        // Every hub API route that reads a body refuses it once the caller may use the route.
        var readers = answers.Statuses.Where(a => a.Probe.Auth == "admin" && a.Probe.Method is "POST" or "PATCH"
            && IsHubApi(a.Probe.Path) && !a.Probe.Path.Contains("authorizations", StringComparison.Ordinal)).ToList();
        readers.Count.ShouldBeGreaterThanOrEqualTo(7 * 3);
        readers.ShouldAllBe(a => a.Status == 413);

        // A hub API route that reads its body says so in the hub's shape.
        using var admin = server.AdminClient();
        (await (await admin.PostAsync($"hub/api/users/{world.Target}/tokens", new ByteArrayContent(big))).ShouldBeHubErrorAsync(413))
            .ShouldBe("Request body too large");
        await ShouldStillAnswerAsync(server);
    }

    [Fact]
    public async Task ConcurrentConflictingWrites_Answer409NotServerError()
    {
        var name = $"race-{Guid.NewGuid():N}"[..20];
        using var admin = Server.AdminClient();
        var failures = new ConcurrentBag<string>();
        for (var round = 0; round < 5; round++)
        {
            // The same user and group created, filled and deleted at once by many callers.
            var requests = Enumerable.Range(0, 24).Select(i => (i % 6) switch
            {
                0 => admin.PostAsJsonAsync($"hub/api/users/{name}", new { }),
                1 => admin.PostAsJsonAsync($"hub/api/groups/{name}", new { }),
                2 => admin.PostAsJsonAsync("hub/api/users", new { usernames = new[] { name, name + "-b" } }),
                3 => admin.PostAsJsonAsync($"hub/api/groups/{name}/users", new { users = new[] { name } }),
                4 => admin.DeleteAsync($"hub/api/groups/{name}"),
                _ => admin.DeleteAsync($"hub/api/users/{name}"),
            });
            foreach (var response in await Task.WhenAll(requests))
                if ((int)response.StatusCode >= 500)
                    failures.Add($"{(int)response.StatusCode} {response.RequestMessage}: {await response.Content.ReadAsStringAsync()}");
        }
        failures.ShouldBeEmpty(string.Join(Environment.NewLine, failures));
        await ShouldStillAnswerAsync(Server);
    }

    [Fact]
    public async Task PageForms_HostileFieldsWithValidAntiforgery_NeverAnswer5xx()
    {
        var world = await World.CreateAsync(Server);
        using var browser = await Browser.LoggedInAsync(Server, world.Target, World.Password);
        // Already form-encoded, so invalid escapes and non-UTF-8 bytes reach the server as they are.
        string[] hostile =
        [
            "", "%00", "%2500", new string('n', 100_000), "%ED%A0%80", "%FF%FE", "%C0%AF", "%zz", "%", "%3Cscript%3E", "%E2%80%AE",
            "%F0%9F%92%A9", "..%2F..%2Fetc", "-1", "1e400", "3600.5", "NaN", "!", "read:users!", "read:users!user=", "inherit+inherit",
            "admin:users", "self", "a99999999999999999999", "a-1",
        ];
        var failures = new List<string>();
        async Task PostAsync(string path, string form)
        {
            var token = await browser.FormTokenAsync("hub/token");
            var body = $"{token.Name}={Uri.EscapeDataString(token.Value)}" + (form.Length > 0 ? "&" + form : "");
            using var response = await browser.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/x-www-form-urlencoded"));
            if ((int)response.StatusCode >= 500)
                failures.Add($"{(int)response.StatusCode} for POST {path} {(form.Length > 200 ? form[..200] : form)}");
        }
        foreach (var value in hostile)
        {
            await PostAsync("hub/token", $"note={value}&expires_in=3600");
            await PostAsync("hub/token", $"note=x&expires_in={value}");
            await PostAsync("hub/token", $"note=x&expires_in=&scopes={value}");
            await PostAsync("hub/token", $"note={value}&note={value}&expires_in=&expires_in=3600");
            await PostAsync($"hub/token/{(value.Length > 1000 ? value[..1000] : value)}/revoke", "");
            await PostAsync("hub/login", $"username={value}&password={value}&next={value}");
        }
        failures.ShouldBeEmpty(string.Join(Environment.NewLine, failures));
        await ShouldStillAnswerAsync(Server);
    }

    // ---- the request bodies every route gets ------------------------------------------------------------

    private sealed record Body(string Name, byte[]? Bytes, string? ContentType);

    private static Body J(string name, string json) => new(name, Encoding.UTF8.GetBytes(json), Json);

    private static readonly Body[] Bodies =
    [
        new("none", null, null),
        J("empty object", "{}"),
        J("open brace", "{"),
        J("unterminated array", "[1,2"),
        J("escaped NUL string", "\"\\u0000\""),
        J("raw NUL", "\0"),
        J("null", "null"),
        J("deeply nested", new string('[', 10_000)),
        J("deeply nested objects", string.Concat(Enumerable.Repeat("{\"a\":", 5_000))),
        J("array", "[]"),
        J("array of object", "[{\"usernames\": [\"x\"]}]"),
        J("usernames number", "{\"usernames\": 5}"),
        J("admin string", "{\"admin\": \"yes\"}"),
        J("expires_in string", "{\"expires_in\": \"soon\"}"),
        J("scopes string", "{\"scopes\": \"x\"}"),
        J("users numbers", "{\"users\": [1]}"),
        J("servers array", "{\"servers\": []}"),
        J("groups object", "{\"groups\": {\"a\": 1}}"),
        J("name number", "{\"name\": 1}"),
        J("note object", "{\"note\": {}}"),
        J("auth string", "{\"auth\": \"admin:admin\"}"),
        J("auth wrong password", "{\"auth\": {\"username\": \"admin\", \"password\": \"wrong-password\"}}"),
        J("auth non-strings", "{\"auth\": {\"username\": 1, \"password\": []}}"),
        J("expires_in huge", "{\"expires_in\": 1e400}"),
        J("expires_in negative", "{\"expires_in\": -1}"),
        J("expires_in tiny", "{\"expires_in\": 1e-300}"),
        J("expires_in big integer", "{\"expires_in\": 99999999999999999999999999999}"),
        J("duplicate keys", "{\"admin\": true, \"admin\": \"x\"}"),
        J("lone surrogate usernames", "{\"usernames\": [\"\\ud800\"]}"),
        J("lone surrogate users", "{\"users\": [\"\\ud800\"]}"),
        J("lone surrogate groups", "{\"groups\": [\"\\udc00\"]}"),
        J("lone surrogate note", "{\"note\": \"\\ud800\"}"),
        J("lone surrogate name", "{\"name\": \"\\ud800\"}"),
        J("lone surrogate key", "{\"\\ud800\": 1}"),
        J("lone surrogate scopes", "{\"scopes\": [\"\\ud800\"]}"),
        J("lone surrogate password", "{\"password\": \"\\ud800\\ud800\\ud800\\ud800\\ud800\\ud800\\ud800\\ud800\"}"),
        J("lone surrogate auth", "{\"auth\": {\"username\": \"\\ud800\", \"password\": \"\\ud800\"}}"),
        J("lone surrogate last_activity", "{\"last_activity\": \"\\ud800\"}"),
        new("invalid UTF-8 value", [.. "{\"note\": \""u8, 0xff, 0xfe, .. "\"}"u8], Json),
        new("invalid UTF-8 key", [.. "{\""u8, 0xc0, 0xaf, .. "\": 1}"u8], Json),
        new("UTF-8 BOM", [0xef, 0xbb, 0xbf, .. "{}"u8], Json),
        J("NUL in names", "{\"usernames\": [\"a\\u0000b\"], \"users\": [\"\\u0000\"], \"groups\": [\"\\u0000\"]}"),
        J("unicode names", "{\"usernames\": [\"\u00fc\u00f1\u00ef\u2603\"], \"name\": \"\u202eadmin\"}"),
        J("traversal names", "{\"usernames\": [\"../../etc\"], \"users\": [\"..\"], \"groups\": [\"..\"]}"),
        J("long name", $"{{\"usernames\": [\"{new string('a', 5000)}\"], \"name\": \"{new string('a', 5000)}\"}}"),
        J("many unknown users", $"{{\"users\": [{string.Join(',', Enumerable.Range(0, 5000).Select(i => $"\"nobody-{i}\""))}]}}"),
        J("empty name lists", "{\"usernames\": [], \"users\": [], \"groups\": []}"),
        J("short password", "{\"password\": \"x\"}"),
        J("scope oddities", "{\"scopes\": [\"!\", \"\", \"read:users!\", \"read:users!user=\", \"read:servers!server=\", \"access:servers!server=/\"]}"),
        J("scope inherit twice", "{\"scopes\": [\"inherit\", \"inherit\"]}"),
        J("scope with space", "{\"scopes\": [\"read:users read:hub\"]}"),
        J("activity far future", "{\"last_activity\": \"9999-12-31T23:59:59Z\"}"),
        J("activity before year 1", "{\"last_activity\": \"0001-01-01T00:00:00+14:00\"}"),
        J("activity not a date", "{\"last_activity\": \"yesterday\"}"),
        J("activity number", "{\"last_activity\": 5}"),
        J("activity unknown server", "{\"servers\": {\"\": {\"last_activity\": \"2020-01-01T00:00:00Z\"}}}"),
        J("activity server not object", "{\"servers\": {\"x\": 5}}"),
        J("roles and auth_state", "{\"roles\": 5, \"auth_state\": \"x\"}"),
        new("JSON as text/plain", "{}"u8.ToArray(), "text/plain"),
        new("form instead of JSON", "a=b&usernames=x"u8.ToArray(), "application/x-www-form-urlencoded"),
        new("form with bad escapes", "a=%zz&%=%&&&=="u8.ToArray(), "application/x-www-form-urlencoded"),
        new("multipart junk", "--xyz\r\nContent-Disposition: form-data\r\n\r\njunk"u8.ToArray(), "multipart/form-data; boundary=xyz"),
        new("multipart without boundary", "junk"u8.ToArray(), "multipart/form-data"),
        new("garbage content type", "{}"u8.ToArray(), "\u00e4;;;=;"),
        new("JSON with odd charset", "{}"u8.ToArray(), "application/json; charset=utf-7"),
        new("binary", Enumerable.Range(0, 4096).Select(i => (byte)(i * 31)).ToArray(), "application/octet-stream"),
    ];

    // ---- users, tokens and credentials the probes use ------------------------------------------------------

    private sealed record Auth(string Name, string? Header);

    /// <summary>
    /// A non-admin actor and a target (a user and a group of the same name) with tokens, and the authorization
    /// headers to try. The actor acts on itself, so its probes get past the access checks into body parsing.
    /// </summary>
    private sealed class World
    {
        public const string Password = "hostile-password";

        public required string Actor { get; init; }
        public required string UserToken { get; init; }
        public required string ActorSpareTokenId { get; init; }
        public required string Target { get; init; }
        public required string TargetToken { get; init; }
        public required string TargetTokenId { get; init; }
        public required Auth[] Auths { get; init; }

        public static async Task<World> CreateAsync(OrreryTestServer server)
        {
            var (actor, userToken) = await server.CreateUserAsync("actor");
            var (target, targetToken) = await server.CreateUserAsync("target", password: Password);
            using var admin = server.AdminClient();
            (await admin.PostAsJsonAsync($"hub/api/groups/{target}", new { users = new[] { target } })).EnsureSuccessStatusCode();
            return new World
            {
                Actor = actor,
                UserToken = userToken,
                ActorSpareTokenId = await NewTokenIdAsync(admin, actor),
                Target = target,
                TargetToken = targetToken,
                TargetTokenId = await NewTokenIdAsync(admin, target),
                Auths =
                [
                    new("none", null),
                    new("token + 10 KB junk", "token " + string.Concat(Enumerable.Repeat("junk-\u0021#$%&'()*+,-./", 600))),
                    new("Bearer empty", "Bearer"),
                    new("Bearer space", "Bearer "),
                    new("Basic junk", "Basic !!!not-base64:::"),
                    new("non-ascii", "token \u00f1\u00f8\u00f1-\u00e4scii-\u2713"),
                    new("user", "token " + userToken),
                    new("admin", "token " + server.AdminToken),
                ],
            };
        }

        private static async Task<string> NewTokenIdAsync(HttpClient admin, string user)
        {
            var response = await admin.PostAsJsonAsync($"hub/api/users/{user}/tokens", new { note = "spare" });
            response.EnsureSuccessStatusCode();
            return (await response.JsonAsync()).GetProperty("id").GetString()!;
        }

        /// <summary>A real value for a route parameter: the actor's own resources for its own token, else the target's.</summary>
        public string NormalValue(string parameter, string auth, string template) => parameter switch
        {
            "name" when auth == "user" && template.StartsWith("hub/api/users/", StringComparison.Ordinal) => Actor,
            "name" => Target,
            "token" => TargetToken,
            "id" when auth == "user" && template.StartsWith("hub/api/", StringComparison.Ordinal) => ActorSpareTokenId,
            "id" => TargetTokenId,
            "server" => "gpu",
            _ => "no/such/route",
        };
    }

    // ---- routes from the running app -------------------------------------------------------------------

    /// <summary>Every (method, template) the app maps; "*" for endpoints that take any method.</summary>
    private static List<(string Method, string Template, RoutePattern Pattern)> Routes(IServiceProvider services) =>
        services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["*"])
                .Select(m => (Method: m, Template: Template(e.RoutePattern), e.RoutePattern)))
            .DistinctBy(r => (r.Method, r.Template))
            .ToList();

    private static string Template(RoutePattern pattern) => (pattern.RawText ?? "").Trim('/') is { Length: > 0 } t ? t : "/";

    private static string Fill(RoutePattern pattern, Func<string, string> value)
    {
        var path = string.Join('/', pattern.PathSegments.Select(segment => string.Concat(segment.Parts.Select(part => part switch
        {
            RoutePatternLiteralPart literal => literal.Content,
            RoutePatternSeparatorPart separator => separator.Content,
            RoutePatternParameterPart parameter => value(parameter.Name),
            _ => "",
        }))));
        return path.Length == 0 ? "/" : path;
    }

    // ---- sending and checking ----------------------------------------------------------------------------

    private sealed record Probe(string Method, string Path, string Auth, string? AuthHeader, string BodyName, byte[]? Body, string? ContentType,
        bool FrameworkMayAnswer = false, bool ExpectNotFoundOrNotAllowed = false, bool Chunked = false, string? Accept = null,
        bool Oversized = false)
    {
        public override string ToString() =>
            $"{Method} {(Path.Length > 120 ? Path[..120] + "…" : Path)} auth={Auth} body={BodyName}{(Accept is null ? "" : " accept=" + Accept)}";
    }

    /// <summary>What a batch of probes got: the bad answers, and every status seen (to show the probes got deep).</summary>
    private sealed class Answers
    {
        public ConcurrentBag<string> Failures { get; } = [];
        public ConcurrentBag<(Probe Probe, int Status)> Statuses { get; } = [];

        public HashSet<int> Distinct => Statuses.Select(s => s.Status).ToHashSet();

        public void ShouldHaveNoFailures() => Failures.ShouldBeEmpty(Describe(Failures));

        public void ShouldHaveSeen(params int[] statuses) =>
            statuses.Where(s => !Distinct.Contains(s)).ShouldBeEmpty($"statuses seen: {string.Join(", ", Distinct.Order())}");
    }

    private async Task<Answers> SendAllAsync(IEnumerable<Probe> probes, OrreryTestServer? server = null, Answers? answers = null)
    {
        server ??= Server;
        answers ??= new Answers();
        using var client = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            MaxConnectionsPerServer = Parallelism,
            // Lets the non-ASCII Authorization header go out as UTF-8 instead of failing in the client.
            RequestHeaderEncodingSelector = (_, _) => Encoding.UTF8,
        }) { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        await Parallel.ForEachAsync(probes, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (probe, _) =>
        {
            try
            {
                var (status, failure) = await SendAsync(client, probe);
                answers.Statuses.Add((probe, status));
                if (failure is not null)
                    answers.Failures.Add(failure);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                answers.Failures.Add($"no answer ({e.GetType().Name}: {e.Message}) for {probe}");
            }
        });
        return answers;
    }

    private static async Task<(int Status, string? Failure)> SendAsync(HttpClient client, Probe probe)
    {
        using var request = new HttpRequestMessage(new HttpMethod(probe.Method), probe.Path);
        if (probe.AuthHeader is not null)
            request.Headers.TryAddWithoutValidation("Authorization", probe.AuthHeader);
        if (probe.Accept is not null)
            request.Headers.TryAddWithoutValidation("Accept", probe.Accept);
        // The server may answer an oversized body before reading it and then close the connection. With
        // 100-continue the client waits for that answer instead of failing while it still sends, and a connection
        // of its own keeps it from picking up a pooled one the server is closing.
        request.Headers.ExpectContinue = probe.Oversized;
        request.Headers.ConnectionClose = probe.Oversized;
        if (probe.Body is not null)
        {
            request.Content = probe.Chunked ? new StreamContent(new MemoryStream(probe.Body)) : new ByteArrayContent(probe.Body);
            if (probe.ContentType is not null)
                request.Content.Headers.TryAddWithoutValidation("Content-Type", probe.ContentType);
        }
        using var response = await client.SendAsync(request);
        var status = (int)response.StatusCode;
        var text = await response.Content.ReadAsStringAsync();
        return (status, await CheckAsync(probe, response, status, text));
    }

    private static async Task<string?> CheckAsync(Probe probe, HttpResponseMessage response, int status, string text)
    {
        if (status >= 500)
            return $"{status} for {probe}: {(text.Length > 300 ? text[..300] : text)}";
        if (probe.ExpectNotFoundOrNotAllowed && status is not (404 or 405))
            return $"{status} (expected 404 or 405) for {probe}";
        if (!IsHubApi(probe.Path) || status is < 400 or >= 500)
            return null;

        // Statuses the framework itself may produce, and Kestrel's own rejections of malformed requests (they never
        // reach the app, so they lack the hub's version header), need not have a body; when they have one under
        // hub/api it must be the hub's error shape.
        var fromKestrel = !response.Headers.Contains("X-JupyterHub-Version");
        if (probe.FrameworkMayAnswer || fromKestrel || status is 405 or 413 or 431)
            return text.Length == 0 || IsHubError(text, status) ? null : $"{status} without the hub error shape for {probe}: {text}";
        try
        {
            await response.ShouldBeHubErrorAsync(status);
            return null;
        }
        catch (Exception e) when (e is ShouldAssertException or JsonException)
        {
            return $"{status} without the hub error shape for {probe}: {text}";
        }
    }

    /// <summary>Routes answering in the hub's error shape; the OAuth endpoints answer in OAuth's (<c>{"error": …}</c>).</summary>
    private static bool IsHubApi(string path) =>
        (path == "hub/api" || path.StartsWith("hub/api/", StringComparison.Ordinal) || path.StartsWith("hub/api?", StringComparison.Ordinal))
        && !path.StartsWith("hub/api/oauth2/", StringComparison.Ordinal);

    private static bool IsHubError(string text, int status)
    {
        try
        {
            using var json = JsonDocument.Parse(text);
            return json.RootElement.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.Number && s.GetInt32() == status
                   && json.RootElement.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string Describe(IReadOnlyCollection<string> failures) =>
        $"{failures.Count} bad answers:{Environment.NewLine}{string.Join(Environment.NewLine, failures.Order(StringComparer.Ordinal).Take(60))}";

    private static async Task ShouldStillAnswerAsync(OrreryTestServer server)
    {
        using var client = server.Client();
        var response = await client.GetAsync("hub/api");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await response.JsonAsync()).GetProperty("version").GetString().ShouldNotBeNullOrEmpty();
    }

    /// <summary>Sends a request line as is (no client-side path normalisation) and returns the status code.</summary>
    private static async Task<int> RawStatusAsync(Uri server, string requestLine, string adminToken)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port, timeout.Token);
        var stream = tcp.GetStream();
        var request = $"{requestLine}\r\nHost: {server.Authority}\r\nAuthorization: token {adminToken}\r\nContent-Length: 2\r\n" +
                      "Content-Type: application/json\r\nConnection: close\r\n\r\n{}";
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request), timeout.Token);
        using var reader = new StreamReader(stream, Encoding.Latin1);
        var statusLine = await reader.ReadLineAsync(timeout.Token) ?? "";
        var match = StatusLine().Match(statusLine);
        return match.Success ? int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : -1;
    }

    [GeneratedRegex(@"^HTTP/1\.[01] (\d{3})")]
    private static partial Regex StatusLine();
}
