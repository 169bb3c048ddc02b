/// How the client decides that the server at the endpoint is the cluster it means.
public enum TLSTrust: Hashable, Sendable {
    /// The system's trust roots and the host name: what any HTTPS client does.
    case system
    /// The system's roots plus this PEM file, for a cluster with a private CA or a self-signed certificate.
    case caCertificate(path: String)
    /// Only a server whose certificate has this SHA-256 fingerprint, whatever signed it and whatever name it
    /// carries. Safer than ``insecure``: it still refuses anyone else.
    case pinned(CertificateFingerprint)
    /// No verification at all, as `qq` does. The client logs a warning once when it starts.
    case insecure
}
