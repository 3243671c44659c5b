using System.Text;
using Orrery.Environments.Specs;

namespace Orrery.Environments.Building;

/// <summary>
/// The build script of a host environment: a virtual environment over the host's Python that sees the system's
/// packages (python3-distributed and the rest come from Debian), with the pip packages and local libraries
/// installed into it. Debian and conda packages cannot be added to the host per environment: the script checks
/// that the host already has them and fails naming the ones it lacks.
/// </summary>
public static class VenvBuild
{
    // Checks conda-style requirements ("numpy", "python=3.11", "dask>=2022") against the host's Python.
    private const string CondaCheck =
        """
        import platform, re, sys
        from importlib import metadata
        from packaging.specifiers import SpecifierSet
        from packaging.version import Version
        bad = []
        for spec in sys.argv[1:]:
            name, rest = re.match(r'^([A-Za-z0-9_][A-Za-z0-9._-]*)\s*(.*)$', spec).groups()
            if name == 'python':
                have = platform.python_version()
            else:
                try:
                    have = metadata.version(name)
                except metadata.PackageNotFoundError:
                    bad.append(f'{spec}: not installed on the host'); continue
            parts = ['==' + c[1:] + '.*' if c.startswith('=') and not c.startswith('==') else c for c in rest.replace(' ', '').split(',') if c]
            if parts and Version(have) not in SpecifierSet(','.join(parts)):
                bad.append(f'{spec}: the host has {have}')
        if bad:
            print('A host environment has no conda; these requirements are not met by the host:', *bad, sep='\n  ')
            sys.exit(1)
        print('all met by the host')
        """;

    // Console scripts of the host's Python (dask, jupyterhub-singleuser, …) get a copy in the venv that runs the
    // venv's interpreter, as pip would have written them, so `dask worker` in the environment sees its libraries.
    private const string Shims =
        """
        import os, sys
        host_python, venv_bin = sys.argv[1], sys.argv[2]
        made = 0
        for name in sorted(os.listdir('/usr/bin')):
            source, target = os.path.join('/usr/bin', name), os.path.join(venv_bin, name)
            if os.path.exists(target) or not os.path.isfile(source):
                continue
            try:
                with open(source, 'rb') as f:
                    first, rest = f.readline(), f.read()
            except OSError:
                continue
            if first.replace(b' ', b'').strip() == b'#!' + host_python.encode():
                with open(target, 'wb') as f:
                    f.write(b'#!' + os.path.join(venv_bin, 'python3').encode() + b'\n' + rest)
                os.chmod(target, 0o755)
                made += 1
        print(f'{made} commands of the host Python now run in the environment')
        """;

    public static string Script(EnvironmentSpec spec, EnvironmentFiles files, string contentId, EnvironmentsOptions options)
    {
        var venv = BuildSteps.Quote(files.Venv(contentId));
        var python = BuildSteps.Quote(options.HostPython);
        var venvPython = BuildSteps.Quote(Path.Combine(files.Venv(contentId), "bin", "python3"));
        var pip = $"{venvPython} -m pip install --no-input --disable-pip-version-check";
        var s = new StringBuilder(BuildSteps.Prelude);
        s.Append($"step base\n{python} --version\n");
        if (spec.AptPackages.Count > 0)
        {
            s.Append("step apt\nmissing=''\n");
            s.Append($"for p in {BuildSteps.Words(spec.AptPackages)}; do\n");
            s.Append("  dpkg-query -W -f='${Status}' \"${p%%=*}\" 2>/dev/null | grep -q 'install ok installed' || missing=\"$missing $p\"\ndone\n");
            s.Append("if [ -n \"$missing\" ]; then\n  echo \"Debian packages not installed on this host:$missing\"\n");
            s.Append("  echo 'A host environment cannot add system packages: ask an admin to install them, or build on a container base.'\n  exit 1\nfi\n");
        }
        if (spec.CondaPackages.Count > 0)
            s.Append($"step conda\n{python} -c {BuildSteps.Quote(CondaCheck)} {BuildSteps.Words(spec.CondaPackages)}\n");
        // --without-pip: ensurepip would spend seconds installing a private pip; the host's pip (visible through the system
        // site packages) run by the venv's interpreter installs into the venv just the same.
        s.Append($"step venv\nrm -rf {venv}\n{python} -m venv --system-site-packages --without-pip {venv}\n");
        s.Append($"{python} -c {BuildSteps.Quote(Shims)} {python} {BuildSteps.Quote(Path.Combine(files.Venv(contentId), "bin"))}\n");
        if (spec.PipPackages.Count > 0)
        {
            var index = options.PipIndexUrl.Length > 0 ? $" --index-url {BuildSteps.Quote(options.PipIndexUrl)}" : "";
            s.Append($"step pip\n{pip}{index} {BuildSteps.Words(spec.PipPackages)}\n");
        }
        if (spec.Libraries.Count > 0)
        {
            var libraries = spec.Libraries.Select(l => Path.Combine(files.Source(contentId), l));
            s.Append($"step libraries\n{pip} --no-deps --no-build-isolation --no-index {BuildSteps.Words(libraries)}\n");
        }
        var manifest = BuildSteps.Quote(files.Manifest(contentId));
        s.Append($"step manifest\n{venvPython} -c {BuildSteps.Quote(BuildSteps.ManifestProgram)} > {manifest}.tmp\nmv {manifest}.tmp {manifest}\n");
        s.Append("echo '==> done'\n");
        return s.ToString();
    }
}
