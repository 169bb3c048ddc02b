import Synchronization

/// The bearer token requests carry, and the single login that renews it.
///
/// When a session expires, every request in flight gets a 401 at about the same time; they must share one new
/// login rather than each start their own. A generation number tells a request whether the token it was refused
/// with has already been replaced.
///
/// A password the configuration does not keep is dropped once its login succeeds: the session then lasts as long
/// as the server lets it, and only a password file can renew it.
final class SessionTokens: Sendable {
    private let keepsPassword: Bool

    private struct State {
        /// Nil once a password that is not kept has served its login.
        var credentials: Credentials?
        /// The token in use; nil before the first login.
        var token: String?
        /// Bumped by every successful login.
        var generation = 0
        /// The login in flight, which every caller waiting for a token awaits.
        var login: Task<Void, any Error>?
    }

    /// Held only to read or swap the fields; the login itself runs outside it.
    private let state: Mutex<State>

    init(credentials: Credentials, keepsPassword: Bool) {
        self.keepsPassword = keepsPassword
        state = Mutex(State(credentials: credentials))
    }

    /// Whether a refused token can be replaced without the user.
    var canRenew: Bool {
        switch state.withLock({ $0.credentials }) {
        case .password?, .passwordFile?: true
        case .bearerToken?, nil: false
        }
    }

    /// The user and password to log in with now.
    func loginSecret() throws -> (username: String, password: String) {
        switch state.withLock({ $0.credentials }) {
        case let .password(username, password)?:
            return (username, password)
        case let .passwordFile(username, path)?:
            return (username, try Credentials.readPassword(from: path))
        case .bearerToken?:
            throw QumuloClientError(code: .authentication, message: "there is no password to log in with")
        case nil:
            throw QumuloClientError(code: .authentication, message: """
                the session expired and the password was not kept: mount again, or give --password-file to renew
                """)
        }
    }

    /// The token to send and its generation. With `stale`, the generation a 401 refused, a token of that
    /// generation is not returned: a new login starts, or the one already running is awaited.
    func token(
        replacing stale: Int? = nil, login: @escaping @Sendable () async throws -> String
    ) async throws -> (token: String, generation: Int) {
        if case .bearerToken(let token)? = state.withLock({ $0.credentials }) { return (token, 0) }
        enum Next {
            case ready(String, Int)
            case wait(Task<Void, any Error>)
        }
        let next: Next = state.withLock { state in
            if let token = state.token, state.generation != stale { return .ready(token, state.generation) }
            if let running = state.login { return .wait(running) }
            let started = Task {
                do {
                    let token = try await login()
                    self.state.withLock { state in
                        state.token = token
                        state.generation += 1
                        state.login = nil
                        if !self.keepsPassword, case .password? = state.credentials { state.credentials = nil }
                    }
                } catch {
                    self.state.withLock { $0.login = nil }
                    throw error
                }
            }
            state.login = started
            return .wait(started)
        }
        switch next {
        case let .ready(token, generation):
            return (token, generation)
        case .wait(let login):
            try await login.value
            return try state.withLock { state in
                guard let token = state.token else {
                    throw QumuloClientError(code: .authentication, message: "the login produced no token")
                }
                return (token, state.generation)
            }
        }
    }
}
