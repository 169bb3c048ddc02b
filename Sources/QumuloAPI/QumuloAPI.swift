/// The Qumulo Core REST API's wire contract, shared by the client and the sandbox so they cannot drift.
///
/// Conventions the models follow (see `qumulo-api.md` section 0):
/// - 64-bit quantities (sizes, offsets, file ids, auth ids) travel as decimal strings: ``DecimalString``.
/// - Times are RFC 3339 in UTC with nanoseconds: ``Timestamp``.
/// - `mode` is a four-digit octal string: ``FileMode``.
/// - A `{ref}` path segment is either a file id or a `%2F`-encoded absolute path: ``FileRef``.
/// - Paged lists carry ``Paging`` whose `next` is a server-relative URI; how a list ends differs per endpoint.
public enum QumuloAPI {
    /// The port a cluster serves the REST API on.
    public static let defaultPort = 8000
    /// The file id of the root directory. Clients should still discover it with `GET /v1/files/%2F/info/attributes`.
    public static let rootFileID = "2"
    /// Longest name a directory entry may have, in UTF-8 bytes (POSIX NAME_MAX).
    public static let maxNameBytes = 255
}
