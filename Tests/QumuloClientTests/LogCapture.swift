import Logging
import Synchronization

/// Every log event a logger emits, kept for a test to inspect.
final class LogCapture: Sendable {
    struct Line: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: Logger.Metadata
    }

    private let lines = Mutex<[Line]>([])

    /// What was logged so far.
    var recorded: [Line] { lines.withLock { $0 } }

    /// A logger at debug level that records here.
    var logger: Logger {
        var logger = Logger(label: "qfuse-client-test") { _ in Handler(capture: self) }
        logger.logLevel = .debug
        return logger
    }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var metadataProvider: Logger.MetadataProvider?
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let line = Line(level: event.level, message: event.message.description,
                            metadata: metadata.merging(event.metadata ?? [:]) { $1 })
            capture.lines.withLock { $0.append(line) }
        }
    }
}
