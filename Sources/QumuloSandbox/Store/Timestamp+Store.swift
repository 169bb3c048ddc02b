import QumuloAPI

extension Timestamp {
    /// The time as the store keeps it, in nanoseconds since the epoch. A client may send any year from 0000 to
    /// 9999; what Int64 nanoseconds cannot hold is bad input (400), not a reason to trap.
    func storedNanoseconds(_ field: String) throws -> Int64 {
        guard let nanoseconds = exactNanoseconds else {
            throw SandboxError.invalidRequest(
                "\(field) \(rfc3339) is outside the times this server keeps (1677-09-21 to 2262-04-11)")
        }
        return nanoseconds
    }
}
