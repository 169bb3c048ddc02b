import QumuloAPI

extension FileRef {
    /// `/v1/files/{ref}`, the prefix of every per-file endpoint.
    var filesPath: String { "/v1/files/\(encodedSegment)" }
}

/// A query string from the parameters that are set, in order, values percent-encoded; empty when none is.
func query(_ parameters: (String, String?)...) -> String {
    let present = parameters.compactMap { name, value in value.map { "\(name)=\(PercentEncoding.encode($0))" } }
    return present.isEmpty ? "" : "?" + present.joined(separator: "&")
}
