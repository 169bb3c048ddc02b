import Foundation

extension Credentials {
    /// Finds credentials the way a user expects, first match wins:
    ///
    /// 1. `username` given: its password from `passwordFile` (read at every login), `QUMULO_PASSWORD`, else from
    ///    `promptPassword`. Never from an argument, which `ps` would show to everyone.
    /// 2. `tokenFile` given: its token (a `qq` credentials file, or a file holding just the token).
    /// 3. `QUMULO_TOKEN` in the environment.
    /// 4. The file `qq login` wrote for this host and port, then the legacy `~/.qfsd_cred`, so a user who ran
    ///    `qq login` needs nothing else.
    ///
    /// - Parameter promptPassword: asks for the password without echo; nil where there is no terminal.
    public static func resolve(
        for endpoint: Endpoint, username: String? = nil, passwordFile: String? = nil, tokenFile: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        promptPassword: ((_ prompt: String) throws -> String)? = nil
    ) throws -> Credentials {
        if let username {
            if let passwordFile {
                // Absolute: a background mount leaves its working directory once it is up.
                let path = URL(fileURLWithPath: passwordFile).standardizedFileURL.path
                _ = try readPassword(from: path)
                return .passwordFile(username: username, path: path)
            }
            if let password = environment["QUMULO_PASSWORD"], !password.isEmpty {
                return .password(username: username, password: password)
            }
            guard let promptPassword else {
                throw QumuloClientError(
                    code: .credentials, message: "no password for \(username): set QUMULO_PASSWORD or run in a terminal")
            }
            return .password(username: username, password: try promptPassword("Password for \(username)@\(endpoint.host): "))
        }
        if let tokenFile {
            guard let token = try readToken(from: tokenFile, required: true) else {
                throw QumuloClientError(code: .credentials, message: "\(tokenFile) holds no bearer token")
            }
            return .bearerToken(token)
        }
        if let token = environment["QUMULO_TOKEN"]?.trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty {
            return .bearerToken(token)
        }
        for path in qqCredentialFiles(for: endpoint, environment: environment) {
            if let token = try readToken(from: path, required: false) { return .bearerToken(token) }
        }
        throw QumuloClientError(
            code: .credentials,
            message: "no credentials for \(endpoint.host):\(endpoint.port): give a user (password from QUMULO_PASSWORD "
                + "or a prompt), a token file, QUMULO_TOKEN, or run qq login first")
    }

    /// Where `qq` keeps a token for this endpoint, in the order it reads them: the per-host file under
    /// `$XDG_CONFIG_HOME` (default `~/.config`), then the legacy `~/.qfsd_cred`.
    public static func qqCredentialFiles(for endpoint: Endpoint, environment: [String: String]) -> [String] {
        let home = environment["HOME"] ?? NSHomeDirectory()
        let configHome = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.config"
        return [
            "\(configHome)/qumulo/credentials/\(endpoint.host.lowercased())_\(endpoint.port)",
            home + "/.qfsd_cred",
        ]
    }

    /// The first line of a password file, checked to be there and not empty.
    static func readPassword(from path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw QumuloClientError(code: .credentials, message: "cannot read the password file \(path)")
        }
        let line = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .first.map(String.init) ?? ""
        guard !line.isEmpty else {
            throw QumuloClientError(code: .credentials, message: "the password file \(path) is empty")
        }
        return line
    }

    /// The token in `path`: `{"bearer_token": "...", "version": 1}` as `qq` writes it, or the bare token.
    /// Nil when the file is missing and not `required`; an error for a file that exists but is unusable, because
    /// silently falling through to another identity would be worse.
    static func readToken(from path: String, required: Bool) throws -> String? {
        guard let data = FileManager.default.contents(atPath: path) else {
            if required { throw QumuloClientError(code: .credentials, message: "cannot read \(path)") }
            return nil
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("{") else { return text.isEmpty ? nil : text }
        guard let stored = try? JSONDecoder().decode(StoredCredentials.self, from: data) else {
            throw QumuloClientError(code: .credentials, message: "\(path) is not a qq credentials file")
        }
        guard stored.version == 1 else {
            throw QumuloClientError(code: .credentials, message: "\(path) has credentials version \(stored.version), not 1")
        }
        return stored.bearerToken.isEmpty ? nil : stored.bearerToken
    }
}

/// The JSON `qq login` writes.
private struct StoredCredentials: Decodable {
    var bearerToken: String
    var version: Int

    enum CodingKeys: String, CodingKey {
        case version
        case bearerToken = "bearer_token"
    }
}
