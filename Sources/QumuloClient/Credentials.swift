/// What the client proves itself with. Its description never shows the secret, so logging one is harmless.
public enum Credentials: Sendable, CustomStringConvertible {
    /// A user and password: the client logs in, and logs in again when the session expires (10 hours on a cluster).
    case password(username: String, password: String)
    /// A user whose password is the first line of a file, read at every login and kept nowhere in between: how a
    /// long-running mount renews its session without holding the secret.
    case passwordFile(username: String, path: String)
    /// A session or access token, e.g. from `qq login` or `qq auth_create_access_token`. When it expires the
    /// user must get a new one: there is nothing to log in with.
    case bearerToken(String)

    public var description: String {
        switch self {
        case .password(let username, _): "password for \(username)"
        case .passwordFile(let username, let path): "password for \(username) from \(path)"
        case .bearerToken: "bearer token"
        }
    }
}
