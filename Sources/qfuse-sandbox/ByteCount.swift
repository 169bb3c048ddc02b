import ArgumentParser

/// A size on the command line: `1048576`, `512K`, `64M`, `64MiB`, `1G` (binary multiples). The forms `qfuse` takes,
/// by a copy of its parser: the two commands share no module.
struct ByteCount: ExpressibleByArgument {
    var bytes: Int

    init?(argument: String) {
        let units: [(String, Int)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30),
                                      ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("B", 1)]
        let text = argument.trimmingPrefix(" ")
        let (digits, multiplier) = units.first { text.uppercased().hasSuffix($0.0.uppercased()) }
            .map { (text.dropLast($0.0.count), $0.1) } ?? (Substring(text), 1)
        guard let count = Int(digits), count > 0, count <= Int.max / multiplier else { return nil }
        bytes = count * multiplier
    }
}
