import Synchronization

/// The bearer token requests carry, and the single login that renews it.
///
/// When a session expires, every request in flight gets a 401 at about the same time; they must share one new
/// login rather than each start their own. A generation number tells a request whether the token it was refused
/// with has already been replaced.
final class SessionTokens: Sendable {
    let credentials: Credentials

    private struct State {
        /// The token in use; nil before the first login.
        var token: String?
        /// Bumped by every successful login.
        var generation = 0
        /// The login in flight, which every caller waiting for a token awaits.
        var login: Task<Void, any Error>?
    }

    /// Held only to read or swap the fields; the login itself runs outside it.
    private let state = Mutex(State())

    init(credentials: Credentials) {
        self.credentials = credentials
    }

    /// Whether a refused token can be replaced without the user.
    var canRenew: Bool {
        if case .password = credentials { true } else { false }
    }

    /// The token to send and its generation. With `stale`, the generation a 401 refused, a token of that
    /// generation is not returned: a new login starts, or the one already running is awaited.
    func token(
        replacing stale: Int? = nil, login: @escaping @Sendable () async throws -> String
    ) async throws -> (token: String, generation: Int) {
        if case .bearerToken(let token) = credentials { return (token, 0) }
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
