#if canImport(Glibc)
import Glibc
#endif
import QumuloClient

/// The two things a command does with the terminal and standard streams besides logging.
enum Terminal {
    /// Asks on the controlling terminal with echo off. Fails when there is no terminal (a script, CI), where a
    /// hidden hang waiting for input would be worse.
    static func readPassword(prompt: String) throws -> String {
        let tty = open("/dev/tty", O_RDWR | O_NOCTTY)
        guard tty >= 0 else {
            throw QumuloClientError(code: .credentials, message: "no terminal to ask for the password: set QUMULO_PASSWORD")
        }
        defer { close(tty) }
        var saved = termios()
        let canHideEcho = tcgetattr(tty, &saved) == 0
        if canHideEcho {
            var silent = saved
            silent.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(tty, TCSAFLUSH, &silent)
        }
        defer { if canHideEcho { tcsetattr(tty, TCSAFLUSH, &saved) } }
        _ = prompt.withCString { write(tty, $0, strlen($0)) }
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while read(tty, &byte, 1) == 1, byte != UInt8(ascii: "\n") { line.append(byte) }
        _ = write(tty, "\n", 1)
        return String(decoding: line, as: UTF8.self)
    }

    /// The first line of standard input, which then points at /dev/null: how the background process of
    /// `qfuse mount` receives its password from the one that started it.
    static func readStandardInputLine() -> String {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while read(STDIN_FILENO, &byte, 1) == 1, byte != UInt8(ascii: "\n") { line.append(byte) }
        let null = open("/dev/null", O_RDONLY)
        if null >= 0 {
            dup2(null, STDIN_FILENO)
            close(null)
        }
        return String(decoding: line, as: UTF8.self)
    }

    /// Writes all of `bytes` to standard output, resuming after short writes and signals.
    static func writeToStandardOutput(_ bytes: UnsafeRawBufferPointer) throws {
        var written = 0
        while written < bytes.count {
            let result = write(STDOUT_FILENO, bytes.baseAddress! + written, bytes.count - written)
            if result < 0 {
                if errno == EINTR { continue }
                throw QumuloClientError(code: .client, message: "cannot write to standard output: \(String(cString: strerror(errno)))")
            }
            written += result
        }
    }
}
