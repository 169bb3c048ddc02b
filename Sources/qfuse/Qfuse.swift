import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

@main
struct Qfuse: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qfuse",
        abstract: "Read a Qumulo cluster over its REST API.",
        subcommands: [Cat.self, Mount.self, Unmount.self])

    /// One line on stderr and exit status 1: what every command does with a failure it cannot recover from.
    static func fail(_ error: any Error) -> Never {
        let line = "qfuse: \(error)\n"
        _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
        Glibc.exit(1)
    }
}
