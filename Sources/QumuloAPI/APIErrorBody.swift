/// The JSON body of every non-2xx response. The SDK reads all of these fields; `inner` nests the cause.
public final class APIErrorBody: Codable, Sendable, Error, CustomStringConvertible {
    public let module: String
    public let errorClass: String
    public let description: String
    public let stack: [String]
    public let userVisible: Bool
    public let inner: APIErrorBody?

    public init(
        module: String, errorClass: String, description: String,
        stack: [String] = [], userVisible: Bool = true, inner: APIErrorBody? = nil
    ) {
        self.module = module
        self.errorClass = errorClass
        self.description = description
        self.stack = stack
        self.userVisible = userVisible
        self.inner = inner
    }

    enum CodingKeys: String, CodingKey {
        case module, description, stack, inner
        case errorClass = "error_class"
        case userVisible = "user_visible"
    }

    public required init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        module = try container.decodeIfPresent(String.self, forKey: .module) ?? ""
        errorClass = try container.decodeIfPresent(String.self, forKey: .errorClass) ?? "unknown"
        description = try container.decodeIfPresent(String.self, forKey: .description) ?? ""
        stack = try container.decodeIfPresent([String].self, forKey: .stack) ?? []
        userVisible = try container.decodeIfPresent(Bool.self, forKey: .userVisible) ?? true
        inner = try container.decodeIfPresent(APIErrorBody.self, forKey: .inner)
    }
}

/// The `error_class` values this project sends or interprets.
public enum ErrorClass {
    public static let noSuchEntry = "fs_no_such_entry_error"
    public static let noSuchPath = "fs_no_such_path_error"
    public static let entryExists = "fs_entry_exists_error"
    public static let directoryNotEmpty = "fs_directory_not_empty_error"
    public static let notADirectory = "fs_not_a_directory_error"
    public static let notAFile = "fs_not_a_file_error"
    public static let notASymlink = "fs_not_a_symlink_error"
    public static let invalidName = "fs_invalid_name_error"
    public static let nameSize = "fs_name_size_error"
    public static let invalidFileType = "fs_invalid_file_type_error"
    public static let directoryCycle = "fs_directory_cycle_error"
    public static let accessDenied = "fs_access_denied_error"
    public static let readOnly = "fs_read_only_error"
    public static let noSpace = "fs_no_space_error"
    public static let invalidOffset = "fs_invalid_offset_error"
    public static let invalidSize = "fs_invalid_size_error"
    public static let tooManyLinks = "fs_file_too_many_links_error"
    public static let notCoveredBySnapshot = "fs_file_not_covered_by_snapshot_error"
    public static let userMetadataEmpty = "fs_user_metadata_empty_insertion_error"
    public static let decode = "decode_error"
    public static let invalidRequest = "invalid_request_error"
    public static let unauthorized = "http_unauthorized_error"
    public static let preconditionFailed = "http_precondition_failed_error"
    public static let notFound = "http_not_found_error"
    public static let methodNotAllowed = "http_method_not_allowed_error"
    public static let payloadTooLarge = "http_payload_too_large_error"
    public static let loginFailed = "auth_login_failed_error"
}
