import ArgumentParser

/// A size on the command line of `qfuse` and `qfuse-sandbox`: `1048576`, `512K`, `4M`, `4MiB`, `1G` (binary
/// multiples, as block sizes are).
public struct ByteCount: ExpressibleByArgument, Sendable {
    public var bytes: Int

    public init?(argument: String) {
        let units: [(String, Int)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30),
                                      ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("B", 1)]
        let text = argument.trimmingPrefix(" ")
        let (digits, multiplier) = units.first { text.uppercased().hasSuffix($0.0.uppercased()) }
            .map { (text.dropLast($0.0.count), $0.1) } ?? (Substring(text), 1)
        guard let count = Int(digits), count > 0, count <= Int.max / multiplier else { return nil }
        bytes = count * multiplier
    }

    /// The shortest exact form, as `--help` shows defaults: `64M`, `1G`, `4097`.
    public var defaultValueDescription: String {
        for (unit, multiplier) in [("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)] where bytes % multiplier == 0 {
            return "\(bytes / multiplier)\(unit)"
        }
        return String(bytes)
    }
}
