import CCurl
import CCurlShim
import Foundation

/// The state libcurl's callbacks work on during one transfer, reached through
/// their userdata pointer. Lives on the transfer's thread only.
final class CurlTransfer {
    let control: TransferControl
    /// Called once, when the final response's head is complete.
    let onHead: (Int, HTTPHeaders) -> Void
    /// Called for each body chunk; false aborts the transfer.
    let onChunk: ([UInt8]) -> Bool
    /// 3xx heads are not final while libcurl follows redirects.
    let followsRedirects: Bool

    var bodyStream: (any HTTPBodyStream)?
    /// What the request body stream threw, rethrown instead of libcurl's abort code.
    var bodyError: (any Error)?
    private(set) var status = 0
    private(set) var headers = HTTPHeaders()
    private(set) var headDelivered = false

    init(
        control: TransferControl, followsRedirects: Bool,
        onHead: @escaping (Int, HTTPHeaders) -> Void, onChunk: @escaping ([UInt8]) -> Bool
    ) {
        self.control = control
        self.followsRedirects = followsRedirects
        self.onHead = onHead
        self.onChunk = onChunk
    }

    /// Installs the callbacks on `easy`; `self` must outlive the transfer.
    func install(on easy: CurlEasy, upload: Bool) throws {
        let me = Unmanaged.passUnretained(self).toOpaque()
        try easy.check(strata_curl_setopt_write_function(easy.handle, curlWrite))
        try easy.set(CURLOPT_WRITEDATA, pointer: me)
        try easy.check(strata_curl_setopt_header_function(easy.handle, curlHeader))
        try easy.set(CURLOPT_HEADERDATA, pointer: me)
        // CURLOPT_XFERINFOFUNCTION is called at least once a second, even when
        // nothing moves: the place to notice a cancelled task.
        try easy.check(strata_curl_setopt_xferinfo_function(easy.handle, curlProgress))
        try easy.set(CURLOPT_XFERINFODATA, pointer: me)
        try easy.set(CURLOPT_NOPROGRESS, 0)
        if upload {
            try easy.check(strata_curl_setopt_read_function(easy.handle, curlRead))
            try easy.set(CURLOPT_READDATA, pointer: me)
        }
    }

    fileprivate func header(_ line: Substring) {
        if line.hasPrefix("HTTP/") {
            // A new response starts (after 100 Continue or a followed redirect).
            status = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
            headers = HTTPHeaders()
        } else if line.isEmpty {
            let interim = status < 200
            let redirecting = followsRedirects && (300..<400).contains(status) && headers["Location"] != nil
            if !interim && !redirecting && !headDelivered {
                headDelivered = true
                onHead(status, headers)
            }
        } else if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers.add(name, value)
        }
    }
}

/// CURLOPT_WRITEFUNCTION: must return `size * nmemb` to go on; any other
/// value fails the transfer with CURLE_WRITE_ERROR.
private let curlWrite: curl_write_callback = { data, size, count, userdata in
    guard let data, let userdata else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    // A body that arrives before the final head belongs to a redirect being followed.
    guard transfer.headDelivered else { return length }
    let chunk = [UInt8](UnsafeRawBufferPointer(start: data, count: length))
    return transfer.onChunk(chunk) ? length : 0
}

/// CURLOPT_HEADERFUNCTION: called once per header line, status line included,
/// with the line's CRLF; an empty line ends a response head.
private let curlHeader: curl_write_callback = { data, size, count, userdata in
    guard let data, let userdata else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    let bytes = UnsafeRawBufferPointer(start: data, count: length)
    let line = String(decoding: bytes, as: UTF8.self)
    transfer.header(line.trimmingCharacters(in: .newlines)[...])
    return length
}

/// CURLOPT_READFUNCTION: fill at most `size * nitems` bytes, return how many,
/// 0 at the end of the body, CURL_READFUNC_ABORT to fail with
/// CURLE_ABORTED_BY_CALLBACK.
private let curlRead: curl_read_callback = { buffer, size, count, userdata in
    guard let buffer, let userdata else { return strata_curl_readfunc_abort }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
    guard !transfer.control.isCancelled else { return strata_curl_readfunc_abort }
    do {
        let target = UnsafeMutableRawBufferPointer(start: buffer, count: size * count)
        return try transfer.bodyStream?.read(into: target) ?? 0
    } catch {
        transfer.bodyError = error
        return strata_curl_readfunc_abort
    }
}

/// CURLOPT_XFERINFOFUNCTION: a non-zero return aborts the transfer with
/// CURLE_ABORTED_BY_CALLBACK.
private let curlProgress: curl_xferinfo_callback = { userdata, _, _, _, _ in
    guard let userdata else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
    return transfer.control.isCancelled ? 1 : 0
}
