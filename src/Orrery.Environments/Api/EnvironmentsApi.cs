using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;
using Orrery.Environments.Building;
using Orrery.Hub.Api;
using Orrery.Hub.Auth;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Environments.Api;

/// <summary>
/// The environments service: submit a spec (YAML body, or multipart with <c>spec</c> and a <c>bundle</c> zip of the
/// local libraries), list, show, follow a build's log, share with a group or make a profile's default, delete.
/// An environment is named by its content id or its name (the caller's own first).
/// </summary>
public static class EnvironmentsApi
{
    private const int MaxSpecBytes = 256 * 1024;

    public static void Map(RouteGroupBuilder group)
    {
        group.MapGet("/", ListAsync);
        group.MapPost("/", SubmitAsync);
        group.MapGet("/{reference}", ShowAsync);
        group.MapGet("/{reference}/logs", LogsAsync);
        group.MapPatch("/{reference}", UpdateAsync);
        group.MapDelete("/{reference}", DeleteAsync);
    }

    private static Caller CallerOf(HttpContext context) => (Caller)context.Items[typeof(Caller)]!;

    private static async Task<IResult> ListAsync(HttpContext context, OrreryDb db)
    {
        var rows = await db.Environments.AsNoTracking().Include(e => e.Owner).Where(EnvironmentAccess.VisibleTo(CallerOf(context).User))
            .OrderBy(e => e.Id).ToListAsync(context.RequestAborted);
        var builds = await BuildsAsync(db, rows, context.RequestAborted);
        return Json(200, w =>
        {
            w.WriteStartArray();
            foreach (var row in rows)
                EnvironmentJson.Write(w, row, row.Owner!.Name, builds.GetValueOrDefault(row.BuildResourceId ?? ""));
            w.WriteEndArray();
        });
    }

    private static async Task<Dictionary<string, ComputeResource>> BuildsAsync(OrreryDb db, IEnumerable<SoftwareEnvironment> environments,
        CancellationToken cancellationToken)
    {
        var ids = environments.Select(e => e.BuildResourceId).OfType<string>().Distinct().ToList();
        return await db.Resources.AsNoTracking().Where(r => ids.Contains(r.Id)).ToDictionaryAsync(r => r.Id, cancellationToken);
    }

    private static async Task<IResult> One(OrreryDb db, SoftwareEnvironment environment, string owner, CancellationToken cancellationToken,
        int status = 200, bool? cacheHit = null)
    {
        var builds = await BuildsAsync(db, [environment], cancellationToken);
        return Json(status, w => EnvironmentJson.Write(w, environment, owner, builds.GetValueOrDefault(environment.BuildResourceId ?? ""), cacheHit));
    }

    private static async Task<IResult> SubmitAsync(HttpContext context, EnvironmentService service, OrreryDb db, IOptions<EnvironmentsOptions> options)
    {
        var caller = CallerOf(context);
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = (ByteSizes.Parse(options.Value.MaxBundleSize) ?? (100L << 20)) + MaxSpecBytes;
        string yaml;
        SoftwareEnvironment environment;
        bool cacheHit;
        if (context.Request.HasFormContentType)
        {
            var form = await ReadFormAsync(context.Request);
            yaml = form.Files.GetFile("spec") is { } file ? await ReadTextAsync(file.OpenReadStream(), context.RequestAborted)
                : form["spec"].ToString();
            if (yaml.Length == 0)
                throw new EnvironmentsApiException(400, "spec: missing; send the spec YAML as the form field or file 'spec'");
            await using var bundle = form.Files.GetFile("bundle")?.OpenReadStream();
            (environment, cacheHit) = await service.SubmitAsync(caller.User.Id, yaml, bundle, context.RequestAborted);
        }
        else
        {
            yaml = await ReadTextAsync(context.Request.Body, context.RequestAborted);
            (environment, cacheHit) = await service.SubmitAsync(caller.User.Id, yaml, null, context.RequestAborted);
        }
        return await One(db, environment, caller.Name, context.RequestAborted, cacheHit ? 200 : 202, cacheHit);
    }

    private static async Task<IFormCollection> ReadFormAsync(HttpRequest request)
    {
        try
        {
            return await request.ReadFormAsync(request.HttpContext.RequestAborted);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new EnvironmentsApiException(413, "The upload is larger than the limit (Orrery:Environments:MaxBundleSize).");
        }
        catch (Exception e) when (e is InvalidDataException or IOException or DecoderFallbackException or BadHttpRequestException)
        {
            throw new EnvironmentsApiException(400, $"The form could not be read: {e.Message}");
        }
    }

    private static async Task<string> ReadTextAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxSpecBytes)
                throw new EnvironmentsApiException(413, $"spec: larger than {MaxSpecBytes / 1024} KiB");
            buffer.Write(chunk, 0, read);
        }
        try
        {
            return new UTF8Encoding(false, true).GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
        catch (DecoderFallbackException)
        {
            throw new EnvironmentsApiException(400, "spec: not UTF-8 text");
        }
    }

    private static async Task<IResult> ShowAsync(HttpContext context, OrreryDb db, string reference)
    {
        var environment = await FindAsync(context, db, reference, forChange: false);
        return await One(db, environment, environment.Owner!.Name, context.RequestAborted);
    }

    /// <summary>The build's log as plain text; with <c>?follow=true</c> it streams until the build ends.</summary>
    private static async Task LogsAsync(HttpContext context, OrreryDb db, string reference, bool? follow)
    {
        var environment = await FindAsync(context, db, reference, forChange: false);
        await BuildLogs.WriteAsync(context, environment.BuildResourceId, follow == true);
    }

    private static async Task<IResult> UpdateAsync(HttpContext context, OrreryDb db, string reference)
    {
        var caller = CallerOf(context);
        var environment = await FindAsync(context, db, reference, forChange: true);
        JsonElement body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<JsonElement>(context.Request.Body, cancellationToken: context.RequestAborted);
        }
        catch (JsonException)
        {
            throw new EnvironmentsApiException(400, "body: not JSON; send {\"shared_with_group\": …} and/or {\"default_for_profile\": …}");
        }
        if (body.ValueKind != JsonValueKind.Object)
            throw new EnvironmentsApiException(400, "body: must be a JSON object");
        foreach (var property in body.EnumerateObject())
        {
            var value = property.Value.ValueKind switch
            {
                JsonValueKind.Null => null,
                JsonValueKind.String => property.Value.GetString(),
                _ => throw new EnvironmentsApiException(400, $"{property.Name}: must be a text or null"),
            };
            switch (property.Name)
            {
                case "shared_with_group":
                    if (value is not null && !await db.Groups.AnyAsync(g => g.Name == value, context.RequestAborted))
                        throw new EnvironmentsApiException(400, $"shared_with_group: there is no group '{value}'");
                    if (value is not null && !caller.User.Admin && !caller.User.Groups.Contains(value))
                        throw new EnvironmentsApiException(403, $"shared_with_group: you are not a member of '{value}'");
                    environment.SharedWithGroup = value;
                    break;
                case "default_for_profile":
                    if (!caller.User.Admin)
                        throw new EnvironmentsApiException(403, "default_for_profile: only an admin can set a profile's default environment");
                    if (value is not null && environment.State != EnvironmentState.Ready)
                        throw new EnvironmentsApiException(409, "default_for_profile: the environment is not built");
                    if (value is not null)
                        await db.Environments.Where(e => e.DefaultForProfile == value)
                            .ExecuteUpdateAsync(s => s.SetProperty(e => e.DefaultForProfile, (string?)null), context.RequestAborted);
                    environment.DefaultForProfile = value;
                    break;
                default:
                    throw new EnvironmentsApiException(400, $"{property.Name}: unknown field; the fields are shared_with_group and default_for_profile");
            }
        }
        await db.SaveChangesAsync(context.RequestAborted);
        return await One(db, environment, environment.Owner!.Name, context.RequestAborted);
    }

    private static async Task<IResult> DeleteAsync(HttpContext context, OrreryDb db, EnvironmentRemoval removal, string reference)
    {
        var environment = await FindAsync(context, db, reference, forChange: true);
        await removal.RemoveAsync(environment, context.RequestAborted);
        return TypedResults.NoContent();
    }

    /// <summary>By content id or name, the caller's own first; 404 when the caller may not see it, 403 to change another's.</summary>
    private static async Task<SoftwareEnvironment> FindAsync(HttpContext context, OrreryDb db, string reference, bool forChange)
    {
        var caller = CallerOf(context);
        var environment = await db.Environments.Include(e => e.Owner)
            .Where(e => e.ContentId == reference || e.Name == reference)
            .Where(EnvironmentAccess.VisibleTo(caller.User))
            .OrderByDescending(e => e.OwnerId == caller.User.Id).ThenByDescending(e => e.Id)
            .FirstOrDefaultAsync(context.RequestAborted)
            ?? throw new EnvironmentsApiException(404, $"No environment '{reference}' that you can see.");
        if (forChange && environment.OwnerId != caller.User.Id && !caller.User.Admin)
            throw new EnvironmentsApiException(403, $"Environment '{reference}' belongs to {environment.Owner!.Name}; only they or an admin can change it.");
        return environment;
    }

    private static IResult Json(int status, Action<Utf8JsonWriter> write) => new JsonWriterResult(status, write);
}
