import CCurl
import CCurlShim

/// libcurl's global state, set up once per process before the first handle
/// (curl_global_init(3) is not thread-safe; Swift runs a global's initializer
/// exactly once, under a lock).
private let curlGlobalInitCode: CURLcode = strata_curl_global_init_all()

/// The one owner of a libcurl easy handle (CURL *) and of the memory libcurl
/// reads while it lives: the error buffer and the header list. Confined to
/// the thread that runs the transfer; not Sendable.
final class CurlEasy {
    let handle: UnsafeMutableRawPointer
    /// The endpoint named in errors (credentials already removed).
    let endpoint: String
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private var headerList: UnsafeMutablePointer<curl_slist>?

    init(endpoint: String) throws {
        self.endpoint = endpoint
        guard curlGlobalInitCode == CURLE_OK, let handle = curl_easy_init() else {
            throw HTTPError.transport(
                url: endpoint, code: Int(CURLE_FAILED_INIT.rawValue),
                message: "libcurl could not be initialised (curl_global_init returned \(curlGlobalInitCode.rawValue))")
        }
        self.handle = handle
        // CURLOPT_ERRORBUFFER: at least CURL_ERROR_SIZE bytes, valid until cleanup.
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        try check(strata_curl_setopt_ptr(handle, CURLOPT_ERRORBUFFER, errorBuffer))
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(headerList)
        errorBuffer.deallocate()
    }

    func set(_ option: CURLoption, _ value: Int) throws {
        try check(strata_curl_setopt_long(handle, option, value))
    }

    /// libcurl copies string options (CURLOPT_URL and the like, since 7.17.0),
    /// so the Swift string need not outlive the call.
    func set(_ option: CURLoption, _ value: String) throws {
        try check(strata_curl_setopt_string(handle, option, value))
    }

    func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer?) throws {
        try check(strata_curl_setopt_ptr(handle, option, pointer))
    }

    func set(_ option: CURLoption, offset: Int64) throws {
        try check(strata_curl_setopt_off_t(handle, option, curl_off_t(offset)))
    }

    /// Sets CURLOPT_HTTPHEADER; the list stays alive until the handle is gone.
    func setHeaders(_ lines: [String]) throws {
        var list: UnsafeMutablePointer<curl_slist>?
        for line in lines {
            guard let appended = curl_slist_append(list, line) else {
                curl_slist_free_all(list)
                throw HTTPError.transport(
                    url: endpoint, code: Int(CURLE_OUT_OF_MEMORY.rawValue), message: "out of memory building headers")
            }
            list = appended
        }
        curl_slist_free_all(headerList)
        headerList = list
        try check(strata_curl_setopt_ptr(handle, CURLOPT_HTTPHEADER, list))
    }

    /// Runs the transfer, blocking the calling thread until it ends.
    func perform() throws {
        try check(curl_easy_perform(handle))
    }

    func info(_ info: CURLINFO) throws -> Int {
        var value = 0
        try check(strata_curl_getinfo_long(handle, info, &value))
        return value
    }

    /// Every CURLcode goes through here: curl_easy_strerror(3) names the
    /// class of failure, the error buffer says what exactly happened.
    func check(_ code: CURLcode) throws {
        guard code != CURLE_OK else { return }
        let summary = String(cString: curl_easy_strerror(code))
        let detail = String(cString: errorBuffer)
        throw HTTPError.transport(
            url: endpoint, code: Int(code.rawValue),
            message: detail.isEmpty || detail == summary ? summary : "\(summary): \(detail)")
    }
}
