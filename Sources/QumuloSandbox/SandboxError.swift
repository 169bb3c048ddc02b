import Hummingbird
import QumuloAPI

/// A failed request, as Qumulo reports it: an HTTP status and a JSON body with `error_class` and `description`.
///
/// Qumulo publishes the error classes but not which status goes with most of them (`qumulo-api.md` 0.7).
/// GUESSED: the statuses below beyond 401, 404, 409 for an existing entry, and 412. Conflicts with existing
/// state get 409, malformed names and wrong object types 400, permission and read-only refusals 403,
/// no space 507.
struct SandboxError: Error, CustomStringConvertible {
    var status: HTTPResponse.Status
    var errorClass: String
    var message: String
    var module = "fs"
    /// Headers the answer carries besides the JSON body, such as `Retry-After`.
    var headers: HTTPFields = [:]

    var description: String { "\(status.code) \(errorClass): \(message)" }

    var body: APIErrorBody {
        APIErrorBody(module: module, errorClass: errorClass, description: message)
    }

    static func noSuchEntry(_ what: some CustomStringConvertible) -> SandboxError {
        SandboxError(status: .notFound, errorClass: ErrorClass.noSuchEntry, message: "\(what): no such file or directory")
    }

    /// GUESSED error class: Qumulo's name for a missing snapshot is not published.
    static func noSuchSnapshot(_ id: some CustomStringConvertible) -> SandboxError {
        SandboxError(status: .notFound, errorClass: "snapshot_no_such_snapshot_error",
                     message: "snapshot \(id) does not exist", module: "snapshot")
    }

    static func notCoveredBySnapshot(_ ref: String) -> SandboxError {
        SandboxError(status: .badRequest, errorClass: ErrorClass.notCoveredBySnapshot,
                     message: "\(ref) is outside the snapshot's source directory")
    }

    /// GUESSED error class and status: refusing to delete or shorten a locked snapshot.
    static func snapshotLocked(_ id: Int64) -> SandboxError {
        SandboxError(status: .forbidden, errorClass: "snapshot_locked_error",
                     message: "snapshot \(id) is locked; unlock it first", module: "snapshot")
    }

    /// GUESSED error class.
    static func noSuchKey(_ ref: String) -> SandboxError {
        SandboxError(status: .notFound, errorClass: "security_key_not_found_error", message: "no key \(ref)", module: "security")
    }

    /// GUESSED error class: a key that still locks something cannot go.
    static func keyInUse(_ name: String) -> SandboxError {
        SandboxError(status: .conflict, errorClass: "security_key_in_use_error",
                     message: "key \(name) still locks snapshots", module: "security")
    }

    /// GUESSED error class: a signature that does not verify with the key.
    static func badSignature(_ what: String) -> SandboxError {
        SandboxError(status: .badRequest, errorClass: "security_key_verification_error",
                     message: "\(what): the signature does not verify with the key", module: "security")
    }

    static func entryExists(_ name: String) -> SandboxError {
        SandboxError(status: .conflict, errorClass: ErrorClass.entryExists, message: "\(name): entry already exists")
    }

    static func directoryNotEmpty(_ path: String) -> SandboxError {
        SandboxError(status: .conflict, errorClass: ErrorClass.directoryNotEmpty, message: "\(path): directory not empty")
    }

    static func notADirectory(_ path: String) -> SandboxError {
        SandboxError(status: .badRequest, errorClass: ErrorClass.notADirectory, message: "\(path): not a directory")
    }

    static func notAFile(_ path: String) -> SandboxError {
        SandboxError(status: .badRequest, errorClass: ErrorClass.notAFile, message: "\(path): not a regular file")
    }

    static func invalidName(_ name: String) -> SandboxError {
        SandboxError(status: .badRequest, errorClass: ErrorClass.invalidName, message: "invalid name \"\(name)\"")
    }

    static func nameTooLong(_ name: String) -> SandboxError {
        SandboxError(
            status: .badRequest, errorClass: ErrorClass.nameSize,
            message: "name of \(name.utf8.count) bytes exceeds \(QumuloAPI.maxNameBytes)")
    }

    /// A size beyond what a file may hold. GUESSED status, as for every bad-input class.
    static func invalidSize(_ size: some BinaryInteger) -> SandboxError {
        SandboxError(status: .badRequest, errorClass: ErrorClass.invalidSize,
                     message: "size \(size) exceeds the largest file size, \(Store.maxFileSize)")
    }

    /// An offset that puts data beyond what a file may hold.
    static func invalidOffset(_ offset: some BinaryInteger, count: some BinaryInteger) -> SandboxError {
        SandboxError(status: .badRequest, errorClass: ErrorClass.invalidOffset,
                     message: "\(count) bytes at offset \(offset) end beyond the largest file size, \(Store.maxFileSize)")
    }

    static func invalidFileType(_ message: String) -> SandboxError {
        SandboxError(status: .badRequest, errorClass: ErrorClass.invalidFileType, message: message)
    }

    static func directoryCycle(_ path: String) -> SandboxError {
        SandboxError(status: .conflict, errorClass: ErrorClass.directoryCycle, message: "\(path): would move a directory into itself")
    }

    static func accessDenied(_ message: String) -> SandboxError {
        SandboxError(status: .forbidden, errorClass: ErrorClass.accessDenied, message: message)
    }

    static func emptyUserMetadataKey() -> SandboxError {
        SandboxError(status: .badRequest, errorClass: ErrorClass.userMetadataEmpty, message: "user metadata key is empty")
    }

    static func invalidRequest(_ message: String) -> SandboxError {
        SandboxError(status: .badRequest, errorClass: ErrorClass.invalidRequest, message: message, module: "http")
    }

    static func decode(_ message: String) -> SandboxError {
        SandboxError(status: .badRequest, errorClass: ErrorClass.decode, message: message, module: "json")
    }

    static func unauthorized(_ message: String = "Need to log in first to establish credentials.") -> SandboxError {
        SandboxError(status: .unauthorized, errorClass: ErrorClass.unauthorized, message: message, module: "http")
    }

    /// GUESSED error class: Qumulo documents no rate limiting. The wait is rounded up to whole seconds.
    static func loginThrottled(retryAfter: Duration) -> SandboxError {
        let seconds = max(1, Int((retryAfter / .seconds(1)).rounded(.up)))
        return SandboxError(
            status: .tooManyRequests, errorClass: "auth_login_throttled_error",
            message: "too many failed logins for this user from this address; retry in \(seconds) s", module: "auth",
            headers: [.retryAfter: String(seconds)])
    }

    /// GUESSED error class: the status 412 is documented, the class is not.
    static func preconditionFailed(expected: String, actual: String) -> SandboxError {
        SandboxError(
            status: .preconditionFailed, errorClass: ErrorClass.preconditionFailed,
            message: "If-Match \(expected) does not match the current ETag \(actual)", module: "http")
    }

    /// GUESSED error class: a transient failure the client may retry.
    static func busy(_ message: String) -> SandboxError {
        SandboxError(status: .serviceUnavailable, errorClass: "fs_busy_error", message: message)
    }

    /// A change that would take the store past its capacity. GUESSED status: the docs allow 507 or 409; 507 says it.
    static func noSpace(needed: Int64, free: Int64) -> SandboxError {
        SandboxError(
            status: HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"), errorClass: ErrorClass.noSpace,
            message: "no space: the change needs up to \(needed) more bytes and \(free) are free")
    }

    static func payloadTooLarge(limit: Int) -> SandboxError {
        SandboxError(
            status: .contentTooLarge, errorClass: ErrorClass.payloadTooLarge,
            message: "request body exceeds the limit of \(limit) bytes", module: "http")
    }
}
