using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Orrery.Gateway.Clusters;

/// <summary>
/// The per-cluster keypair, in upstream's profile: RSA-2048, self-signed, SHA-256, CN=dask-internal, a SAN with the
/// cluster name, one year. The same certificate is the CA, the scheduler's and workers' certificate, and the
/// client certificate the dask_gateway client presents.
/// </summary>
public static class ClusterCertificate
{
    public static (string CertificatePem, string KeyPem) Create(string clusterName, DateTimeOffset now)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=dask-internal", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(clusterName);
        san.AddDnsName("dask-internal");
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(365));
        return (certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }
}
