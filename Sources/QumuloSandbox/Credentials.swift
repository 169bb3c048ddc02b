import Hummingbird
import QumuloAPI
import Synchronization

/// The admin password and the throttle on guessing it: every check of a password, at login or at a password
/// change, goes through here.
///
/// Threading: one lock guards both, held only to decide; comparing a password is a few hundred nanoseconds.
final class Credentials: Sendable {
    private struct State {
        var password: String
        var throttle: LoginThrottle
    }

    private let state: Mutex<State>

    init(password: String, throttle: LoginThrottle.Policy = .init()) {
        state = Mutex(State(password: password, throttle: LoginThrottle(policy: throttle)))
    }

    /// Checks `password` for `user` trying from `address`: 401 when wrong, 429 while that pair is locked out.
    func verify(user: String, password: String, from address: String) throws {
        let key = LoginThrottle.Key(user: user, address: address)
        let now = ContinuousClock.now
        try state.withLock { state in
            if case .refuse(let retryAfter) = state.throttle.decide(key, at: now) {
                throw SandboxError.loginThrottled(retryAfter: retryAfter)
            }
            guard user == "admin", Self.same(password, state.password) else {
                state.throttle.failed(key, at: now)
                throw SandboxError(status: .unauthorized, errorClass: ErrorClass.loginFailed,
                                   message: "Invalid username or password", module: "auth")
            }
            state.throttle.succeeded(key)
        }
    }

    /// Replaces the password; the caller ends the sessions.
    func change(to password: String) {
        state.withLock { $0.password = password }
    }

    /// Compares the whole strings in constant time for their length, so timing reveals little.
    private static func same(_ given: String, _ expected: String) -> Bool {
        let given = Array(given.utf8)
        let expected = Array(expected.utf8)
        return given.count == expected.count && zip(given, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
