import QumuloAPI
import QumuloClient
import SystemPackage

extension FilesystemError {
    /// The one table from what the server or the link did to the errno a program sees.
    ///
    /// API errors go by `error_class` first (the status of most classes is not documented), then by status.
    /// Transport failures, timeouts and 5xx after the client's retries are EIO: the program gets an error, never
    /// a hang, and the one the README promises (ETIMEDOUT would read as a local timer's).
    init(_ error: any Error, _ context: @autoclosure () -> String) {
        let message = "\(context()): \(error)"
        // An interrupted request's task is cancelled; whatever failed because of it, the program sees EINTR.
        if error is CancellationError || Task.isCancelled {
            self.init(.interrupted, message)
            return
        }
        guard let error = error as? QumuloClientError else {
            self.init((error as? FilesystemError)?.errno ?? .ioError, message)
            return
        }
        switch error.code {
        case .api:
            self.init(Self.errno(errorClass: error.errorClass, status: error.status), message)
        case .authentication, .credentials:
            self.init(.permissionDenied, message)
        default:
            self.init(.ioError, message)
        }
    }

    static func errno(errorClass: String?, status: Int?) -> Errno {
        switch errorClass {
        case ErrorClass.noSuchEntry, ErrorClass.noSuchPath, "fs_no_such_inode_error", ErrorClass.notCoveredBySnapshot,
             "snapshot_no_such_snapshot_error":
            return .noSuchFileOrDirectory
        case ErrorClass.entryExists: return .fileExists
        case ErrorClass.directoryNotEmpty: return .directoryNotEmpty
        case ErrorClass.notADirectory: return .notDirectory
        case ErrorClass.notAFile: return .isDirectory
        case ErrorClass.invalidName: return .invalidArgument
        case ErrorClass.nameSize, "fs_path_size_error": return .fileNameTooLong
        case ErrorClass.accessDenied, "fs_access_perm_not_owner_error": return .permissionDenied
        case ErrorClass.readOnly: return .readOnlyFileSystem
        case ErrorClass.noSpace, "fs_quota_no_space_error": return .noSpace
        case ErrorClass.directoryCycle: return .invalidArgument
        case ErrorClass.tooManyLinks: return .tooManyLinks
        case "fs_symlink_loop_error": return .tooManySymbolicLinkLevels
        default: break
        }
        switch status {
        case 400: return .invalidArgument
        case 401, 403: return .permissionDenied
        case 404: return .noSuchFileOrDirectory
        case 409: return .fileExists
        case 412: return .staleNFSFileHandle
        case 413: return .fileTooLarge
        case 507: return .noSpace
        default: return .ioError
        }
    }
}
