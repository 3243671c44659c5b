using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;
using Orrery.Hub.Accounts;
using Orrery.Hub.Api;
using Orrery.Hub.Auth;
using Orrery.Hub.Pages;
using Orrery.Hub.Proxy;
using Orrery.Storage.Entities;

namespace Orrery.Hub;

/// <summary>Users, login, tokens and the JupyterHub-compatible REST API under {BaseUrl}hub/.</summary>
public static class HubModule
{
    public static WebApplicationBuilder AddHubModule(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<HubOptions>().BindConfiguration(HubOptions.SectionName)
            .Validate(o => o.LoginAttemptsPerMinute > 0, "Orrery:Hub:LoginAttemptsPerMinute must be positive.")
            .ValidateOnStart();
        services.AddSingleton<HubCache>();
        services.AddSingleton<ActivityTracker>();
        services.AddSingleton<CallerResolver>();
        services.AddSingleton<IPasswordHasher<User>, PasswordHasher<User>>();
        services.AddScoped<AccountService>();
        services.AddSingleton<HubNavigation>();
        services.AddSingleton<HttpForwarder>();
        services.AddHostedService<AdminBootstrap>();
        services.AddHostedService<ActivityFlusher>();

        services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie();
        services.AddOptions<CookieAuthenticationOptions>(CookieAuthenticationDefaults.AuthenticationScheme)
            .Configure<IOptions<OrreryOptions>, IOptions<HubOptions>>((cookie, orrery, hub) =>
            {
                cookie.Cookie.Name = "orrery-login";
                cookie.Cookie.Path = orrery.Value.BaseUrl;
                cookie.Cookie.HttpOnly = true;
                cookie.Cookie.SameSite = SameSiteMode.Lax;
                cookie.ExpireTimeSpan = hub.Value.LoginLifetime;
                cookie.SlidingExpiration = true;
                cookie.LoginPath = orrery.Value.HubPrefix + "login";
            });
        services.AddAntiforgery(o => o.Cookie.Name = "orrery-xsrf");
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(LoginPages.RateLimitPolicy, context =>
            {
                var perMinute = context.RequestServices.GetRequiredService<IOptions<HubOptions>>().Value.LoginAttemptsPerMinute;
                return RateLimitPartition.GetFixedWindowLimiter(context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                    _ => new FixedWindowRateLimiterOptions { PermitLimit = perMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 });
            });
        });
        return builder;
    }

    public static WebApplication MapHubModule(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<OrreryOptions>>().Value;
        var version = app.Services.GetRequiredService<IOptions<HubOptions>>().Value.CompatibleVersion;
        var apiPrefix = options.HubPrefix + "api";
        app.Use((context, next) =>
        {
            var path = context.Request.PathBase + context.Request.Path;
            if (path.StartsWithSegments(options.HubPrefix.TrimEnd('/')))
                context.Response.Headers["X-JupyterHub-Version"] = version;
            if (path.StartsWithSegments(apiPrefix))
            {
                context.Response.Headers.AccessControlAllowHeaders = "accept, content-type, authorization";
                context.Response.Headers.ContentSecurityPolicy = $"frame-ancestors 'self'; report-uri {options.HubPrefix}security/csp-report; default-src 'none'";
            }
            return next(context);
        });
        app.UseAuthentication();
        app.UseAntiforgery();
        app.UseRateLimiter();

        var hub = app.MapGroup(options.HubPrefix.TrimEnd('/'));
        hub.MapGet("/health", () => Results.Ok());
        var open = app.MapGroup(apiPrefix);
        var api = app.MapGroup(apiPrefix).AddEndpointFilter(new HubApiFilter(requireCaller: true));
        HubApi.Map(open, api);
        UsersApi.Map(api);
        TokensApi.Map(open, api);
        GroupsApi.Map(api);
        HomePage.Map(app, hub, options);
        LoginPages.Map(hub);
        TokenPage.Map(hub);
        return app;
    }
}
