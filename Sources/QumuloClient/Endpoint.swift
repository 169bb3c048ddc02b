import QumuloAPI

/// Where a cluster's REST API listens: `https://host[:port]`, port 8000 unless given.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int = QumuloAPI.defaultPort) {
        self.host = host
        self.port = port
    }

    /// Parses `https://host[:port]` (an IPv6 host in brackets). Plain `http://` is refused: a cluster serves only
    /// HTTPS, and the bearer token must never travel in clear text.
    public init(url: String) throws {
        let invalid = { (why: String) in
            QumuloClientError(code: .invalidArgument, message: "\(url) is not a cluster URL: \(why)")
        }
        guard url.lowercased().hasPrefix("https://") else { throw invalid("it must start with https://") }
        var rest = Substring(url.dropFirst("https://".count))
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.isEmpty, !rest.contains("/"), !rest.contains("@"), !rest.contains("?") else {
            throw invalid("expected https://host[:port] with no path")
        }
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw invalid("unclosed [") }
            host = rest[rest.index(after: rest.startIndex) ..< close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("unexpected text after ]") }
                portText = after.dropFirst()
            }
        } else if let colon = rest.firstIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw invalid("the host is empty") }
        var port = QumuloAPI.defaultPort
        if let portText {
            guard let parsed = Int(portText), (1 ... 65535).contains(parsed) else { throw invalid("bad port") }
            port = parsed
        }
        self.init(host: String(host), port: port)
    }

    /// The URL prefix requests are built on.
    public var baseURL: String {
        host.contains(":") ? "https://[\(host)]:\(port)" : "https://\(host):\(port)"
    }

    public var description: String { baseURL }
}
