#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "address.h"

namespace pisock {

// The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) that a trusted
// proxy puts before the first byte of a client's stream. What is accepted, and why the limits
// are what they are: docs/PROXY-PROTOCOL.md.

// A v1 line, "PROXY ... \r\n" included, is at most this long.
inline constexpr std::size_t kProxyV1MaxLength = 107;
// A v2 header, its 16 fixed bytes included, is at most this long (its length field at most
// kProxyV2MaxLength - 16): room for addresses and every TLV HAProxy or stunnel send, a client
// certificate included, while a header not yet known to be valid holds one 4 KiB buffer.
inline constexpr std::size_t kProxyV2MaxLength = 4096;

// What a complete, valid header says.
struct ProxyHeader {
    enum class Command {
        Local, // v2 LOCAL or v1 UNKNOWN: the proxy's own connection (a health check); no address
        Proxy, // relayed for the client in source
    };

    int version = 0; // 1 or 2
    Command command = Command::Local;
    // Command::Proxy: the client (AF_INET or AF_INET6, as the proxy saw it) and the address it
    // connected to. Command::Local: family AF_UNSPEC and length 0; the socket's own addresses
    // stand.
    SocketAddress source;
    SocketAddress destination;
    // v2 PP2_SUBTYPE_SSL_CN, raw bytes as sent (escape before logging); empty when absent.
    // Points into the bytes given to parseProxyHeader(): copy it before they change.
    std::string_view commonName;
};

// The answer to the bytes received so far.
struct ProxyParse {
    enum class Status {
        NeedMore, // a valid header may still follow: call again with more bytes
        Done, // header holds the result; the first consumed bytes are the header
        Invalid, // not a valid header (error says why); nothing more can make it one
    };

    Status status = Status::NeedMore;
    std::size_t consumed = 0; // Done: the header's length (<= the bytes given)
    std::string_view error; // Invalid: a short one-line reason (static text)
    ProxyHeader header; // Done only
};

// Parses the PROXY header at the start of received: all bytes of the stream so far, the
// same first bytes each call, possibly one more byte at a time. Stateless and bounded: reads
// at most kProxyV2MaxLength bytes of it, allocates nothing, and answers Invalid as soon as a
// byte cannot belong to a valid header. Bytes after the header (the client's own) are not
// looked at.
ProxyParse parseProxyHeader(std::string_view received) noexcept;

} // namespace pisock
