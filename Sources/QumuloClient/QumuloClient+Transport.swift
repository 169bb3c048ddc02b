import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import QumuloAPI
import Synchronization

extension QumuloClient {
    /// Sends a request until it succeeds, may not be retried, or the retry budget is spent, and hands the
    /// successful answer to `handle`.
    ///
    /// `makeRequest` runs before every attempt, so a resumed read can ask for the part still missing. A failure
    /// while the body arrives (a reset connection) is retried like any other.
    func perform<Result>(
        _ makeRequest: () -> APIRequest, handle: (APIResponse) throws -> Result
    ) async throws -> Result {
        let started = ContinuousClock.now
        var attempts = 0
        var renewed = false
        var current: (token: String, generation: Int)?
        while true {
            let request = makeRequest()
            if request.authenticated, current == nil {
                current = try await bearerToken(replacing: nil)
            }
            attempts += 1
            do {
                switch try await attempt(request, token: current?.token, number: attempts, handle: handle) {
                case .done(let result):
                    return result
                case .unauthorized(let refusal):
                    // One fresh login per call: a token refused twice in a row is not a matter of expiry.
                    guard let refused = current, session.canRenew, !renewed else { throw refusal }
                    renewed = true
                    logger.debug("session expired, logging in again", metadata: ["http.path": "\(request.path)"])
                    current = try await bearerToken(replacing: refused.generation)
                }
            } catch var error as QumuloClientError {
                let delay = configuration.retry.backoff(beforeRetry: attempts)
                let lost = lostServer.load(ordering: .relaxed)
                guard request.retry == .idempotent, error.isRetryable, hasReachedServer, !lost,
                      started.duration(to: .now) + delay < configuration.retry.budget
                else {
                    error.attempts = attempts
                    count { $0.errors += 1 }
                    if attempts > 1, !lost, [.connection, .timeout].contains(error.code) {
                        lostServer.store(true, ordering: .relaxed)
                        logger.warning("the server stays unreachable; requests are tried once until it answers",
                                       metadata: ["http.endpoint": "\(configuration.endpoint)", "http.error": "\(error)"])
                    }
                    throw await explained(error)
                }
                count { $0.retries += 1 }
                logger.debug("retrying", metadata: [
                    "http.method": "\(request.method)", "http.path": "\(request.path)", "http.attempt": "\(attempts)",
                    "http.error": "\(error.code)", "retry.delay_ms": "\(delay / .milliseconds(1))",
                ])
                try await Task.sleep(for: delay)
            } catch {
                count { $0.errors += 1 }
                throw error
            }
        }
    }

    /// A refused certificate, with the fingerprint the server presents appended, so the user can check it and pin
    /// it. A pin mismatch already names both fingerprints.
    private func explained(_ error: QumuloClientError) async -> QumuloClientError {
        if case .pinned = configuration.trust { return error }
        guard error.code == .tls, error.status == nil,
              let seen = try? await Self.presentedCertificate(at: configuration.endpoint, timeout: configuration.timeouts.connect)
        else { return error }
        var explained = error
        explained.message += " (the server presents SHA-256 \(seen))"
        return explained
    }

    /// `perform` for a request that is the same on every attempt.
    func perform<Result>(_ request: APIRequest, handle: (APIResponse) throws -> Result) async throws -> Result {
        try await perform({ request }, handle: handle)
    }

    /// `perform` for a JSON answer.
    func perform<Value: Decodable>(_ request: APIRequest, decoding type: Value.Type) async throws -> Tagged<Value> {
        try await perform(request) { response in Tagged(try response.decode(type), etag: response.etag) }
    }

    /// `perform` for an answer whose body does not matter (deletes, empty acknowledgements).
    func performIgnoringBody(_ request: APIRequest) async throws {
        try await perform(request) { _ in }
    }

    /// JSON for a request body.
    func json(_ value: some Encodable) throws -> ByteBuffer {
        try JSONEncoder().encodeAsByteBuffer(value, allocator: ByteBufferAllocator())
    }

    private func bearerToken(replacing stale: Int?) async throws -> (token: String, generation: Int) {
        try await session.token(replacing: stale) { [self] in try await self.logIn() }
    }

    /// `POST /v1/session/login` with the password credentials.
    private func logIn() async throws -> String {
        let (username, password) = try session.loginSecret()
        let request = APIRequest(
            .POST, "/v1/session/login", body: try json(LoginRequest(username: username, password: password)),
            retry: .idempotent, authenticated: false)
        let answer = try await perform(request, decoding: LoginResponse.self)
        count { $0.logins += 1 }
        return answer.value.bearerToken
    }

    private enum Outcome<Result> {
        case done(Result)
        /// A 401 on an authenticated request: maybe an expired session.
        case unauthorized(QumuloClientError)
    }

    /// One attempt: send, check the status, let `handle` take a success. Logs one debug line either way.
    private func attempt<Result>(
        _ request: APIRequest, token: String?, number: Int, handle: (APIResponse) throws -> Result
    ) async throws -> Outcome<Result> {
        var headers = HTTPHeaders()
        headers.add(name: "User-Agent", value: configuration.userAgent)
        headers.add(name: "Content-Type", value: request.contentType)
        if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let ifMatch = request.ifMatch { headers.add(name: "If-Match", value: ifMatch) }
        let sent = request.body?.readableBytes ?? 0
        count {
            $0.requests += 1
            $0.bytesWritten += Int64(sent)
        }
        let started = ContinuousClock.now
        let delegate = ResponseDelegate(sink: request.sink, limit: configuration.maxJSONResponseBytes) { [self] in answered() }
        var status: Int?
        func log(_ error: (any Error)? = nil) {
            let received = delegate.bytesReceived
            count { $0.bytesRead += Int64(received) }
            guard logger.logLevel <= .debug else { return }
            var metadata: Logger.Metadata = [
                "http.method": "\(request.method)", "http.path": "\(request.path)",
                "http.bytes_in": "\(received)", "http.bytes_out": "\(sent)",
                "http.latency_ms": "\((started.duration(to: .now) / .microseconds(100)).rounded() / 10)",
            ]
            if let status { metadata["http.status"] = "\(status)" }
            if number > 1 { metadata["http.attempt"] = "\(number)" }
            if let error { metadata["http.error"] = "\(error)" }
            logger.debug("request", metadata: metadata)
        }
        do {
            let http = try HTTPClient.Request(url: configuration.endpoint.baseURL + request.path, method: request.method,
                                              headers: headers, body: request.body.map { .byteBuffer($0) })
            let task = self.http.execute(request: http, delegate: delegate, eventLoop: .indifferent,
                                         deadline: .now() + TimeAmount(configuration.timeouts.request), logger: nil)
            let answer = try await withTaskCancellationHandler {
                try await task.futureResult.get()
            } onCancel: {
                task.cancel()
            }
            status = answer.status
            let outcome: Outcome<Result>
            switch answer.status {
            case 200 ..< 300:
                outcome = .done(try handle(answer))
            case 401 where token != nil:
                outcome = .unauthorized(refusal(answer))
            default:
                throw refusal(answer)
            }
            log()
            return outcome
        } catch let error as QumuloClientError {
            log(error)
            throw error.located(request)
        } catch let error where error is CancellationError || Task.isCancelled {
            log(error)
            throw CancellationError()
        } catch {
            let mapped = QumuloClientError(transportFailure: error)
            log(mapped)
            throw mapped.located(request)
        }
    }

    /// Notes that the server answers: retries are worth it, and a server thought lost is back.
    private func answered() {
        hasReachedServer = true
        if lostServer.exchange(false, ordering: .relaxed) {
            logger.info("the server answers again", metadata: ["http.endpoint": "\(configuration.endpoint)"])
        }
    }

    /// The typed error for a non-2xx answer, from its Qumulo error body when it has one.
    private func refusal(_ answer: APIResponse) -> QumuloClientError {
        let body = try? JSONDecoder().decode(APIErrorBody.self, from: answer.body)
        var message = body?.description ?? ""
        if message.isEmpty { message = HTTPResponseStatus(statusCode: answer.status).reasonPhrase }
        let code: QumuloClientError.Code = answer.status == 401 ? .authentication : .api
        return QumuloClientError(code: code, message: message, status: answer.status, body: body)
    }
}

extension QumuloClientError {
    /// This error with the request it belongs to, unless it already names one.
    func located(_ request: APIRequest) -> QumuloClientError {
        var located = self
        if located.method == nil {
            located.method = "\(request.method)"
            located.path = request.path
        }
        return located
    }
}
