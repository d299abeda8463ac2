#include "address.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <netinet/in.h>
#include <sys/un.h>

namespace pisock {

std::string Endpoint::toString() const
{
    std::string text = secure ? "wss:" : webSocket ? "ws:" : "";
    if (kind == Kind::Unix)
        return text + "unix:" + path;
    const std::string portText = std::to_string(port);
    if (host.find(':') != std::string::npos)
        return text + "[" + host + "]:" + portText;
    return text + (host.empty() ? std::string("*") : host) + ":" + portText;
}

std::string socketKey(const Endpoint &endpoint)
{
    if (endpoint.kind == Endpoint::Kind::Unix) {
        if (endpoint.path.starts_with('@')) // abstract: any byte is part of the name
            return "unix:" + endpoint.path;
        std::string key = "unix:";
        key += std::filesystem::path(endpoint.path).lexically_normal().string();
        return key;
    }
    std::string port = ":";
    port += std::to_string(endpoint.port);
    // No host is the IPv6 wildcard, as the listener opens it.
    const std::string host = endpoint.host.empty() ? std::string("::") : endpoint.host;
    in_addr v4{};
    in6_addr v6{};
    const auto ipKey = [&port](const void *bytes, std::size_t size) {
        std::string key = "ip:";
        key.append(static_cast<const char *>(bytes), size);
        return key + port;
    };
    if (::inet_pton(AF_INET, host.c_str(), &v4) == 1)
        return ipKey(&v4, sizeof(v4));
    if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
        if (IN6_IS_ADDR_V4MAPPED(&v6)) // the same socket as the IPv4 address
            return ipKey(&v6.s6_addr[12], 4);
        return ipKey(&v6, sizeof(v6));
    }
    std::string name = host;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return "name:" + name + port;
}

std::optional<std::uint16_t> parsePort(std::string_view text)
{
    unsigned value = 0;
    const char *end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || ptr != end || value > 65535)
        return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

std::optional<Endpoint> parseEndpoint(std::string_view text, std::string &error)
{
    Endpoint ep;
    if (text.starts_with("unix:")) {
        ep.kind = Endpoint::Kind::Unix;
        ep.path = text.substr(5);
        if (ep.path.empty()) {
            error = "empty unix socket path";
            return std::nullopt;
        }
        if (ep.path.size() >= sizeof(sockaddr_un::sun_path)) {
            error = "unix socket path too long";
            return std::nullopt;
        }
        return ep;
    }

    std::string_view port = text;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            error = "expected [IPv6]:PORT";
            return std::nullopt;
        }
        ep.host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
        if (text.find(':') != colon) {
            error = "IPv6 addresses go in brackets: [ADDRESS]:PORT";
            return std::nullopt;
        }
        ep.host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    if (ep.host == "*")
        ep.host.clear();
    const auto value = parsePort(port);
    if (!value) {
        error = "invalid port '";
        error += port;
        error += "'";
        return std::nullopt;
    }
    ep.port = *value;
    return ep;
}

std::string formatAddress(const SocketAddress &address)
{
    char text[INET6_ADDRSTRLEN] = {};
    switch (address.family()) {
    case AF_INET: {
        const auto *in = reinterpret_cast<const sockaddr_in *>(&address.storage);
        ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
        return std::string(text) + ":" + std::to_string(ntohs(in->sin_port));
    }
    case AF_INET6: {
        const auto *in6 = reinterpret_cast<const sockaddr_in6 *>(&address.storage);
        const auto port = std::to_string(ntohs(in6->sin6_port));
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            ::inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], text, sizeof(text));
            return std::string(text) + ":" + port;
        }
        ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
        std::string out = "[";
        out += text;
        return out + "]:" + port;
    }
    case AF_UNIX: {
        const auto *un = reinterpret_cast<const sockaddr_un *>(&address.storage);
        const auto offset = offsetof(sockaddr_un, sun_path);
        if (address.length <= offset)
            return "unix";
        std::string path(un->sun_path, address.length - offset);
        if (path[0] == '\0')
            path[0] = '@'; // abstract namespace
        else
            path.resize(std::strlen(path.c_str()));
        return "unix:" + path;
    }
    default:
        return "unknown";
    }
}

std::string formatPeer(const SocketAddress &address)
{
    return address.family() == AF_UNIX ? std::string("unix") : formatAddress(address);
}

} // namespace pisock
